/// `vae/config.json` of an `AutoencoderKLWan`, with diffusers' defaults for absent keys.
public struct WanVAEConfig: Decodable, Sendable, Equatable {
    public var baseDim: Int
    public var decoderBaseDim: Int?
    public var zDim: Int
    public var dimMult: [Int]
    public var numResBlocks: Int
    public var attnScales: [Double]
    public var temperalDownsample: [Bool]
    public var latentsMean: [Float]
    public var latentsStd: [Float]
    public var isResidual: Bool
    public var inChannels: Int
    public var outChannels: Int
    public var patchSize: Int?
    public var scaleFactorTemporal: Int
    public var scaleFactorSpatial: Int

    enum CodingKeys: String, CodingKey {
        case baseDim = "base_dim", decoderBaseDim = "decoder_base_dim", zDim = "z_dim", dimMult = "dim_mult"
        case numResBlocks = "num_res_blocks", attnScales = "attn_scales", temperalDownsample = "temperal_downsample"
        case latentsMean = "latents_mean", latentsStd = "latents_std", isResidual = "is_residual"
        case inChannels = "in_channels", outChannels = "out_channels", patchSize = "patch_size"
        case scaleFactorTemporal = "scale_factor_temporal", scaleFactorSpatial = "scale_factor_spatial"
    }

    public static let wan21LatentsMean: [Float] = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                                                   0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
    public static let wan21LatentsStd: [Float] = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                                  3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        baseDim = try c.value(.baseDim, default: 96)
        decoderBaseDim = try c.decodeIfPresent(Int.self, forKey: .decoderBaseDim)
        zDim = try c.value(.zDim, default: 16)
        dimMult = try c.value(.dimMult, default: [1, 2, 4, 4])
        numResBlocks = try c.value(.numResBlocks, default: 2)
        attnScales = try c.value(.attnScales, default: [])
        temperalDownsample = try c.value(.temperalDownsample, default: [false, true, true])
        latentsMean = try c.value(.latentsMean, default: Self.wan21LatentsMean)
        latentsStd = try c.value(.latentsStd, default: Self.wan21LatentsStd)
        isResidual = try c.value(.isResidual, default: false)
        inChannels = try c.value(.inChannels, default: 3)
        outChannels = try c.value(.outChannels, default: 3)
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize)
        scaleFactorTemporal = try c.decodeIfPresent(Int.self, forKey: .scaleFactorTemporal) ?? 4
        scaleFactorSpatial = try c.decodeIfPresent(Int.self, forKey: .scaleFactorSpatial) ?? 8
    }

    public func validate() throws {
        if isResidual || (patchSize ?? 1) != 1 {
            throw EngineError("the Wan 2.2 VAE (is_residual / patch_size) is not supported yet; Wan 2.1's AutoencoderKLWan is")
        }
        guard baseDim > 0, zDim > 0, numResBlocks > 0, !dimMult.isEmpty, dimMult.allSatisfy({ $0 > 0 }) else {
            throw EngineError("base_dim, z_dim, num_res_blocks and dim_mult must be positive")
        }
        guard temperalDownsample.count >= dimMult.count - 1 else {
            throw EngineError("temperal_downsample needs \(dimMult.count - 1) entries for dim_mult \(dimMult)")
        }
        guard latentsMean.count == zDim, latentsStd.count == zDim, latentsStd.allSatisfy({ $0 > 0 }) else {
            throw EngineError("latents_mean and latents_std need \(zDim) entries (z_dim), and std must be positive")
        }
        guard attnScales.isEmpty else {
            throw EngineError("attn_scales is not supported (diffusers' encoder cannot run attention blocks in its down path either)")
        }
        guard inChannels == 3, outChannels == 3 else { throw EngineError("only RGB VAEs are supported (in_channels and out_channels 3)") }
    }
}
