import CFFmpeg
import Foundation

/// What a video file holds, as FFmpeg reads it.
public struct VideoInfo: Sendable, Equatable {
    public let codec: String
    public let width: Int
    public let height: Int
    public let frameCount: Int
    public let framesPerSecond: Double
    public let pixelFormat: String
    public let colorPrimaries: String
    public let colorTransfer: String
    public let colorSpace: String
    public let metadata: [String: String]
}

/// Decodes images and videos through libavformat/libavcodec/libswscale.
public enum MediaReader {
    /// Opens `path`, finds its video stream and calls `body` with every decoded frame as RGB.
    /// Returns the stream description.
    @discardableResult
    public static func decode(path: String, maxFrames: Int = .max, _ body: (RGBImage) throws -> Void) throws -> VideoInfo {
        guard FileManager.default.fileExists(atPath: path) else { throw MediaError("\(path): file not found") }
        av_log_set_level(AV_LOG_ERROR)
        var format: UnsafeMutablePointer<AVFormatContext>?
        var status = avformat_open_input(&format, path, nil, nil)
        guard status >= 0, let input = format else {
            throw MediaError("\(path): not a readable image or video (\(MediaError.ffmpeg(status)))")
        }
        defer { avformat_close_input(&format) }
        status = avformat_find_stream_info(input, nil)
        guard status >= 0 else { throw MediaError("\(path): cannot read stream information (\(MediaError.ffmpeg(status)))") }
        var decoderPointer: UnsafePointer<AVCodec>?
        let streamIndex = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, &decoderPointer, 0)
        guard streamIndex >= 0, let decoder = decoderPointer, let stream = input.pointee.streams[Int(streamIndex)] else {
            throw MediaError("\(path): has no decodable picture")
        }
        var context = avcodec_alloc_context3(decoder)
        defer { avcodec_free_context(&context) }
        guard let codec = context else { throw MediaError("\(path): out of memory") }
        guard avcodec_parameters_to_context(codec, stream.pointee.codecpar) >= 0, avcodec_open2(codec, decoder, nil) >= 0 else {
            throw MediaError("\(path): cannot open the \(String(cString: decoder.pointee.name)) decoder")
        }
        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame) }
        var scaler: OpaquePointer?
        defer { sws_freeContext(scaler) }
        var decoded = 0

        func receive() throws -> Bool {
            while decoded < maxFrames {
                let result = avcodec_receive_frame(codec, frame)
                if result == moviola_averror_eagain() || result == moviola_averror_eof() { return true }
                guard result >= 0, let f = frame else { throw MediaError("\(path): corrupt picture data (\(MediaError.ffmpeg(result)))") }
                let (w, h) = (Int(f.pointee.width), Int(f.pointee.height))
                guard w > 0, h > 0 else { throw MediaError("\(path): picture has no size") }
                scaler = sws_getCachedContext(scaler, f.pointee.width, f.pointee.height, AVPixelFormat(f.pointee.format),
                                              f.pointee.width, f.pointee.height, AV_PIX_FMT_RGB24, Int32(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT), nil, nil, nil)
                guard let scaler else { throw MediaError("\(path): unsupported pixel format") }
                // swscale assumes BT.601; use the matrix and range the stream declares.
                let matrix = f.pointee.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT
                let fullRange: Int32 = f.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
                let coefficients = sws_getCoefficients(matrix)
                sws_setColorspaceDetails(scaler, coefficients, fullRange, coefficients, 1, 0, 1 << 16, 1 << 16)
                var pixels = [UInt8](repeating: 0, count: w * h * 3)
                pixels.withUnsafeMutableBufferPointer { out in
                    var destination: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
                    var strides: [Int32] = [Int32(w * 3), 0, 0, 0]
                    withUnsafePointer(to: &f.pointee.data) { dataTuple in
                        withUnsafePointer(to: &f.pointee.linesize) { lineTuple in
                            dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                                lineTuple.withMemoryRebound(to: Int32.self, capacity: 8) { lines in
                                    _ = sws_scale(scaler, src, lines, 0, f.pointee.height, &destination, &strides)
                                }
                            }
                        }
                    }
                }
                av_frame_unref(f)
                decoded += 1
                try body(RGBImage(width: w, height: h, pixels: pixels))
            }
            return false
        }

        reading: while decoded < maxFrames {
            let read = av_read_frame(input, packet)
            if read < 0 { break }
            defer { av_packet_unref(packet) }
            guard packet!.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != moviola_averror_eagain() {
                throw MediaError("\(path): corrupt or truncated picture data (\(MediaError.ffmpeg(sent)))")
            }
            if try !receive() { break reading }
        }
        if decoded < maxFrames {
            avcodec_send_packet(codec, nil)
            _ = try receive()
        }
        guard decoded > 0 else { throw MediaError("\(path): no picture could be decoded (corrupt or truncated file?)") }

        var metadata: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>?
        while true {
            entry = av_dict_get(input.pointee.metadata, "", entry, AV_DICT_IGNORE_SUFFIX)
            guard let e = entry else { break }
            metadata[String(cString: e.pointee.key)] = String(cString: e.pointee.value)
        }
        let parameters = stream.pointee.codecpar.pointee
        let rate = stream.pointee.avg_frame_rate
        return VideoInfo(
            codec: String(cString: avcodec_get_name(parameters.codec_id)),
            width: Int(parameters.width), height: Int(parameters.height),
            frameCount: decoded,
            framesPerSecond: rate.den > 0 ? Double(rate.num) / Double(rate.den) : 0,
            pixelFormat: av_get_pix_fmt_name(AVPixelFormat(parameters.format)).map { String(cString: $0) } ?? "unknown",
            colorPrimaries: String(cString: av_color_primaries_name(parameters.color_primaries)),
            colorTransfer: String(cString: av_color_transfer_name(parameters.color_trc)),
            colorSpace: String(cString: av_color_space_name(parameters.color_space)),
            metadata: metadata)
    }

    /// Decodes the first picture of an image file (PNG, JPEG, WebP, …).
    /// Decodes an image held in memory (written to a private temporary file in `scratchDirectory` first,
    /// since the demuxer probes files).
    public static func decodeImage(data: Data, scratchDirectory: String = NSTemporaryDirectory()) throws -> RGBImage {
        guard !data.isEmpty else { throw MediaError("the image is empty") }
        try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        let path = (scratchDirectory as NSString).appendingPathComponent("image-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw MediaError("cannot write a temporary file in \(scratchDirectory)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try decodeImage(path: path)
    }

    public static func decodeImage(path: String) throws -> RGBImage {
        var image: RGBImage?
        try decode(path: path, maxFrames: 1) { image = $0 }
        return image!
    }

    /// All frames of a video.
    public static func decodeVideo(path: String) throws -> (VideoInfo, [RGBImage]) {
        var frames: [RGBImage] = []
        let info = try decode(path: path) { frames.append($0) }
        return (info, frames)
    }
}
