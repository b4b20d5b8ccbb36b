import CFFmpeg
import Foundation

/// Encodes single RGB frames as baseline JPEG (libavcodec's MJPEG encoder, full-range 4:2:0):
/// small preview images for progress streams and thumbnails.
public enum JPEGEncoder {
    /// `quality` runs from 1 (smallest) to 31 (libavcodec's qscale, inverted so higher is better).
    public static func encode(_ image: RGBImage, quality: Int = 24) throws -> Data {
        guard image.width >= 2, image.height >= 2, image.width <= 8192, image.height <= 8192 else {
            throw MediaError("cannot encode a \(image.width)x\(image.height) JPEG")
        }
        // 4:2:0 needs even sides; the last row or column is dropped when odd.
        let (w, h) = (image.width & ~1, image.height & ~1)
        let source = (w, h) == (image.width, image.height) ? image : image.cropped(width: w, height: h)
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else { throw MediaError("this FFmpeg has no MJPEG encoder") }
        var codec = avcodec_alloc_context3(encoder)
        var frame = av_frame_alloc()
        var packet = av_packet_alloc()
        defer {
            avcodec_free_context(&codec)
            av_frame_free(&frame)
            av_packet_free(&packet)
        }
        guard let codec, let frame, let packet else { throw MediaError("out of memory encoding a JPEG") }
        codec.pointee.width = Int32(w)
        codec.pointee.height = Int32(h)
        codec.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        codec.pointee.color_range = AVCOL_RANGE_JPEG
        codec.pointee.time_base = AVRational(num: 1, den: 1)
        codec.pointee.flags |= AV_CODEC_FLAG_QSCALE
        let q = Int32(max(1, min(31, 32 - quality)))
        codec.pointee.global_quality = q * FF_QP2LAMBDA
        codec.pointee.qmin = q
        codec.pointee.qmax = q
        guard avcodec_open2(codec, encoder, nil) >= 0 else { throw MediaError("cannot open the MJPEG encoder") }
        frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        frame.pointee.width = Int32(w)
        frame.pointee.height = Int32(h)
        frame.pointee.color_range = AVCOL_RANGE_JPEG
        frame.pointee.quality = q * FF_QP2LAMBDA
        guard av_frame_get_buffer(frame, 0) >= 0 else { throw MediaError("cannot allocate a JPEG frame") }
        YUV.fill(frame: frame, from: source, fullRange: true)
        guard avcodec_send_frame(codec, frame) >= 0, avcodec_send_frame(codec, nil) >= 0 else {
            throw MediaError("the MJPEG encoder refused the frame")
        }
        var data = Data()
        while avcodec_receive_packet(codec, packet) >= 0 {
            data.append(packet.pointee.data, count: Int(packet.pointee.size))
            av_packet_unref(packet)
        }
        guard !data.isEmpty else { throw MediaError("the MJPEG encoder wrote nothing") }
        return data
    }
}

extension RGBImage {
    /// The top-left `width`×`height` pixels.
    func cropped(width: Int, height: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<(width * 3) { out[y * width * 3 + x] = pixels[y * self.width * 3 + x] }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
