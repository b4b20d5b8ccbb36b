import CFFmpeg
import Foundation

/// How a clip is encoded: H.264 (libx264), yuv420p, BT.709 tags, MP4 with the index at the front.
public struct VideoEncodingOptions: Sendable {
    public var framesPerSecond: Int
    /// x264 constant rate factor: 0 lossless … 51 worst; 18 is visually lossless.
    public var crf: Int
    public var preset: String
    /// Container metadata (`ffprobe -show_format` lists it).
    public var metadata: [String: String]

    public init(framesPerSecond: Int = 16, crf: Int = 18, preset: String = "medium", metadata: [String: String] = [:]) {
        self.framesPerSecond = framesPerSecond
        self.crf = crf
        self.preset = preset
        self.metadata = metadata
    }
}

/// Writes RGB frames to an H.264 MP4 one frame at a time, through libavcodec/libavformat. The
/// output is bit-identical for identical input and options (single-threaded, bit-exact flags).
public final class MP4Writer {
    public let path: String
    public let width: Int
    public let height: Int
    public private(set) var framesWritten = 0
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var finished = false

    public init(path: String, width: Int, height: Int, options: VideoEncodingOptions) throws {
        self.path = path
        self.width = width
        self.height = height
        guard width >= 16, height >= 16, width % 2 == 0, height % 2 == 0, width <= 8192, height <= 8192 else {
            throw MediaError("\(path): cannot encode \(width)x\(height); H.264 yuv420p needs even sides between 16 and 8192")
        }
        guard (1...240).contains(options.framesPerSecond) else {
            throw MediaError("frame rate \(options.framesPerSecond) is outside 1–240 fps")
        }
        guard (0...51).contains(options.crf) else { throw MediaError("CRF \(options.crf) is outside 0–51") }
        av_log_set_level(AV_LOG_ERROR)
        do {
            try open(options: options)
        } catch {
            release()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    deinit { release() }

    private func check(_ code: Int32, _ what: String) throws {
        if code < 0 { throw MediaError("\(path): \(what) failed: \(MediaError.ffmpeg(code))") }
    }

    private func open(options: VideoEncodingOptions) throws {
        try check(avformat_alloc_output_context2(&format, nil, "mp4", path), "creating the MP4 container")
        guard let format else { throw MediaError("\(path): cannot create an MP4 container") }
        guard let encoder = avcodec_find_encoder_by_name("libx264") ?? avcodec_find_encoder(AV_CODEC_ID_H264) else {
            throw MediaError("this FFmpeg has no H.264 encoder (install libavcodec with libx264)")
        }
        stream = avformat_new_stream(format, nil)
        codec = avcodec_alloc_context3(encoder)
        guard let stream, let codec else { throw MediaError("\(path): out of memory setting up the encoder") }
        codec.pointee.width = Int32(width)
        codec.pointee.height = Int32(height)
        codec.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        codec.pointee.time_base = AVRational(num: 1, den: Int32(options.framesPerSecond))
        codec.pointee.framerate = AVRational(num: Int32(options.framesPerSecond), den: 1)
        codec.pointee.gop_size = Int32(options.framesPerSecond * 2)
        codec.pointee.color_primaries = AVCOL_PRI_BT709
        codec.pointee.color_trc = AVCOL_TRC_BT709
        codec.pointee.colorspace = AVCOL_SPC_BT709
        codec.pointee.color_range = AVCOL_RANGE_MPEG
        codec.pointee.thread_count = 1
        codec.pointee.flags |= Int32(AV_CODEC_FLAG_BITEXACT)
        if (format.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            codec.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        av_opt_set(codec.pointee.priv_data, "crf", "\(options.crf)", 0)
        av_opt_set(codec.pointee.priv_data, "preset", options.preset, 0)
        // Single-threaded and deterministic. For pictures under 96 px on a side, x264's macroblock-tree
        // lookahead reads memory it has not written (measured: 64x48 clips differed between runs
        // with identical input), so it is switched off there.
        var x264Parameters = "threads=1:lookahead-threads=1:sliced-threads=0:sync-lookahead=0:deterministic=1"
        if width < 96 || height < 96 { x264Parameters += ":mbtree=0" }
        av_opt_set(codec.pointee.priv_data, "x264-params", x264Parameters, 0)
        try check(avcodec_open2(codec, encoder, nil), "opening the H.264 encoder")
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, codec), "configuring the video stream")
        stream.pointee.time_base = codec.pointee.time_base
        stream.pointee.avg_frame_rate = codec.pointee.framerate
        format.pointee.flags |= AVFMT_FLAG_BITEXACT
        for (key, value) in options.metadata.sorted(by: { $0.key < $1.key }) {
            av_dict_set(&format.pointee.metadata, key, value, 0)
        }
        try check(avio_open(&format.pointee.pb, path, AVIO_FLAG_WRITE), "opening the file for writing")
        var muxerOptions: OpaquePointer?
        av_dict_set(&muxerOptions, "movflags", "+faststart+use_metadata_tags", 0)
        let header = avformat_write_header(format, &muxerOptions)
        av_dict_free(&muxerOptions)
        try check(header, "writing the MP4 header")
        frame = av_frame_alloc()
        packet = av_packet_alloc()
        guard let frame, packet != nil else { throw MediaError("\(path): out of memory") }
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.color_primaries = AVCOL_PRI_BT709
        frame.pointee.color_trc = AVCOL_TRC_BT709
        frame.pointee.colorspace = AVCOL_SPC_BT709
        frame.pointee.color_range = AVCOL_RANGE_MPEG
        try check(av_frame_get_buffer(frame, 0), "allocating a frame")
    }

    /// Appends one frame.
    public func append(_ image: RGBImage) throws {
        guard !finished, let frame, let codec else { throw MediaError("\(path): the writer is already finished") }
        guard image.width == width, image.height == height else {
            throw MediaError("\(path): frame is \(image.width)x\(image.height), the video is \(width)x\(height)")
        }
        try check(av_frame_make_writable(frame), "preparing a frame")
        YUV.fill(frame: frame, from: image)
        frame.pointee.pts = Int64(framesWritten)
        try check(avcodec_send_frame(codec, frame), "encoding frame \(framesWritten)")
        try drain()
        framesWritten += 1
    }

    /// Flushes the encoder and writes the index; the file is complete afterwards.
    public func finish() throws {
        guard !finished, let codec, let format else { return }
        finished = true
        try check(avcodec_send_frame(codec, nil), "flushing the encoder")
        try drain()
        try check(av_write_trailer(format), "writing the MP4 index")
        release()
    }

    private func drain() throws {
        guard let codec, let packet, let format, let stream else { return }
        while true {
            let status = avcodec_receive_packet(codec, packet)
            if status == moviola_averror_eagain() || status == moviola_averror_eof() { return }
            try check(status, "encoding")
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            let written = av_interleaved_write_frame(format, packet)
            av_packet_unref(packet)
            try check(written, "writing a packet")
        }
    }

    private func release() {
        if frame != nil { av_frame_free(&frame) }
        if packet != nil { av_packet_free(&packet) }
        if codec != nil { avcodec_free_context(&codec) }
        if let format {
            if format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
            self.format = nil
        }
    }
}

/// RGB → Y'CbCr 4:2:0, BT.709, limited range, chroma averaged over 2×2 pixels. Done here rather
/// than by swscale so the conversion is exact and identical on every build.
enum YUV {
    static func fill(frame: UnsafeMutablePointer<AVFrame>, from image: RGBImage, fullRange: Bool = false) {
        // Limited range maps luma to 16…235 and chroma to 16…240; full range (JPEG) uses 0…255.
        let (yBase, yScale, yMax) = fullRange ? (0.0, 255.0, 255.0) : (16.0, 219.0, 235.0)
        let (cScale, cMin, cMax) = fullRange ? (255.0, 0.0, 255.0) : (224.0, 16.0, 240.0)
        let (w, h) = (image.width, image.height)
        let yPlane = frame.pointee.data.0!, uPlane = frame.pointee.data.1!, vPlane = frame.pointee.data.2!
        let yStride = Int(frame.pointee.linesize.0), uStride = Int(frame.pointee.linesize.1), vStride = Int(frame.pointee.linesize.2)
        // Every byte of the frame's buffers is written, padding included: the encoder's SIMD code
        // reads past the picture, and uninitialised bytes there made the output vary between runs.
        withUnsafePointer(to: &frame.pointee.buf) { tuple in
            tuple.withMemoryRebound(to: UnsafeMutablePointer<AVBufferRef>?.self, capacity: 8) { buffers in
                for i in 0..<8 {
                    if let buffer = buffers[i] { buffer.pointee.data.initialize(repeating: 128, count: Int(buffer.pointee.size)) }
                }
            }
        }
        image.pixels.withUnsafeBufferPointer { px in
            for y in 0..<h {
                for x in 0..<w {
                    let i = (y * w + x) * 3
                    let (r, g, b) = (Double(px[i]) / 255, Double(px[i + 1]) / 255, Double(px[i + 2]) / 255)
                    let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
                    yPlane[y * yStride + x] = UInt8(max(yBase, min(yMax, (yBase + yScale * luma).rounded())))
                }
            }
            for cy in 0..<(h / 2) {
                for cx in 0..<(w / 2) {
                    var (r, g, b) = (0.0, 0.0, 0.0)
                    for dy in 0..<2 {
                        for dx in 0..<2 {
                            let i = ((2 * cy + dy) * w + 2 * cx + dx) * 3
                            r += Double(px[i]); g += Double(px[i + 1]); b += Double(px[i + 2])
                        }
                    }
                    (r, g, b) = (r / 1020, g / 1020, b / 1020)
                    let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
                    let cb = (b - luma) / 1.8556
                    let cr = (r - luma) / 1.5748
                    uPlane[cy * uStride + cx] = UInt8(max(cMin, min(cMax, (128 + cScale * cb).rounded())))
                    vPlane[cy * vStride + cx] = UInt8(max(cMin, min(cMax, (128 + cScale * cr).rounded())))
                }
            }
        }
    }
}
