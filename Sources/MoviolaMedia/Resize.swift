extension RGBImage {
    /// Scales the image to cover `width × height` (keeping its aspect ratio) and crops the
    /// centre: the rule for fitting a first frame to the requested video size. Downscaling
    /// averages the covered source area; upscaling interpolates bilinearly.
    public func resizedToFill(width targetWidth: Int, height targetHeight: Int) -> RGBImage {
        if width == targetWidth && height == targetHeight { return self }
        let scale = max(Double(targetWidth) / Double(width), Double(targetHeight) / Double(height))
        let scaledWidth = Double(width) * scale, scaledHeight = Double(height) * scale
        let offsetX = (scaledWidth - Double(targetWidth)) / 2, offsetY = (scaledHeight - Double(targetHeight)) / 2
        var out = [UInt8](repeating: 0, count: targetWidth * targetHeight * 3)
        for ty in 0..<targetHeight {
            for tx in 0..<targetWidth {
                // Source rectangle covered by this target pixel.
                let x0 = (Double(tx) + offsetX) / scale, x1 = (Double(tx + 1) + offsetX) / scale
                let y0 = (Double(ty) + offsetY) / scale, y1 = (Double(ty + 1) + offsetY) / scale
                var rgb = (0.0, 0.0, 0.0)
                if scale < 1 {
                    var total = 0.0
                    var sy = Int(y0)
                    while Double(sy) < y1 && sy < height {
                        let wy = min(y1, Double(sy + 1)) - max(y0, Double(sy))
                        var sx = Int(x0)
                        while Double(sx) < x1 && sx < width {
                            let weight = wy * (min(x1, Double(sx + 1)) - max(x0, Double(sx)))
                            let i = (sy * width + sx) * 3
                            rgb.0 += weight * Double(pixels[i]); rgb.1 += weight * Double(pixels[i + 1]); rgb.2 += weight * Double(pixels[i + 2])
                            total += weight
                            sx += 1
                        }
                        sy += 1
                    }
                    rgb = (rgb.0 / total, rgb.1 / total, rgb.2 / total)
                } else {
                    let fx = min(max((x0 + x1) / 2 - 0.5, 0), Double(width - 1)), fy = min(max((y0 + y1) / 2 - 0.5, 0), Double(height - 1))
                    let ix = min(Int(fx), width - 2 < 0 ? 0 : width - 2), iy = min(Int(fy), height - 2 < 0 ? 0 : height - 2)
                    let ax = width > 1 ? fx - Double(ix) : 0, ay = height > 1 ? fy - Double(iy) : 0
                    func at(_ x: Int, _ y: Int, _ c: Int) -> Double { Double(pixels[(min(y, height - 1) * width + min(x, width - 1)) * 3 + c]) }
                    var values = [0.0, 0.0, 0.0]
                    for c in 0..<3 {
                        let top = at(ix, iy, c) * (1 - ax) + at(ix + 1, iy, c) * ax
                        let bottom = at(ix, iy + 1, c) * (1 - ax) + at(ix + 1, iy + 1, c) * ax
                        values[c] = top * (1 - ay) + bottom * ay
                    }
                    rgb = (values[0], values[1], values[2])
                }
                let o = (ty * targetWidth + tx) * 3
                out[o] = UInt8(max(0, min(255, rgb.0.rounded())))
                out[o + 1] = UInt8(max(0, min(255, rgb.1.rounded())))
                out[o + 2] = UInt8(max(0, min(255, rgb.2.rounded())))
            }
        }
        return RGBImage(width: targetWidth, height: targetHeight, pixels: out)
    }
}
