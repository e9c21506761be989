import PanelCore

/// Draws what a NovaStar-driven panel shows. Receiving cards split the panel into equal
/// columns, left to right in port then card order (the last takes the remainder). Each card
/// shows its input (the selected one; a locked card holds the one it showed when locked), or
/// its test pattern: 2 red, 3 green, 4 blue, 5 white, 6 horizontal lines,
/// 7 vertical lines, 8 diagonal lines (white lines every 8 pixels on black), 9 grayscale ramp
/// (black left to white right), 0x0A aging (red, green, blue, white quarters); kill mode
/// shows black. With brightness applied, each channel is value × brightness / 255, then
/// × R/G/B brightness / 255.
enum NovaStarPicture {
    /// The pictures of the inputs (RGB, the panel's size, by input code) with each card's
    /// look drawn over its column; `selected` fills a panel without cards.
    static func render(inputs: [UInt8: Canvas], selected: UInt8, looks: [NovaStarSendingCard.Look], applyBrightness: Bool) -> Canvas {
        guard var canvas = inputs[selected] else { return Canvas(width: 0, height: 0, format: .rgb) }
        let w = canvas.width, h = canvas.height
        guard !looks.isEmpty, w > 0, h > 0 else { return canvas }
        let columnWidth = max(1, w / looks.count)
        for (i, look) in looks.enumerated() {
            let x0 = min(w, i * columnWidth)
            let x1 = i == looks.count - 1 ? w : min(w, x0 + columnWidth)
            let source = inputs[look.input] ?? canvas
            for y in 0..<h {
                for x in x0..<x1 {
                    guard let o = canvas.offset(x: x, y: y) else { continue }
                    var rgb = [source.bytes[o], source.bytes[o + 1], source.bytes[o + 2]]
                    if let p = pattern(look.pattern, x: x - x0, y: y, width: x1 - x0) { rgb = p }
                    if look.kill { rgb = [0, 0, 0] }
                    if applyBrightness {
                        let factors = [look.red, look.green, look.blue]
                        for c in 0..<3 { rgb[c] = UInt8(Int(rgb[c]) * Int(look.brightness) / 255 * Int(factors[c]) / 255) }
                    }
                    canvas.bytes[o] = rgb[0]; canvas.bytes[o + 1] = rgb[1]; canvas.bytes[o + 2] = rgb[2]
                }
            }
        }
        return canvas
    }

    /// One pixel of test pattern `code`, nil for "no pattern" (the input shows).
    static func pattern(_ code: UInt8, x: Int, y: Int, width: Int) -> [UInt8]? {
        let white: [UInt8] = [255, 255, 255], black: [UInt8] = [0, 0, 0]
        switch code {
        case 2: return [255, 0, 0]
        case 3: return [0, 255, 0]
        case 4: return [0, 0, 255]
        case 5: return white
        case 6: return y % 8 == 0 ? white : black
        case 7: return x % 8 == 0 ? white : black
        case 8: return (x + y) % 8 == 0 ? white : black
        case 9:
            let v = UInt8(width > 1 ? x * 255 / (width - 1) : 255)
            return [v, v, v]
        case 0x0A:
            let quarter = width > 0 ? min(3, x * 4 / width) : 0
            return [[255, 0, 0], [0, 255, 0], [0, 0, 255], white][quarter]
        default: return nil
        }
    }
}
