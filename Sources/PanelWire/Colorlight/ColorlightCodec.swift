/// Decodes Colorlight frames (whole Ethernet frames, from the destination address) without
/// allocating. Rejects what cannot be read (a frame cut short, pixels running past the end);
/// anything else decodes, with the rules it breaks attached.
public enum ColorlightDecoder {
    /// True when a frame is addressed like Colorlight traffic: to the receiving cards' address
    /// or from the sending card's, with a known packet type.
    public static func looksLikeColorlight(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 14 else { return false }
        var toCards = true, fromSender = true
        for i in 0..<6 {
            if b[i] != Colorlight.receiverMAC[i] { toCards = false }
            if b[6 + i] != Colorlight.senderMAC[i] { fromSender = false }
        }
        guard toCards || fromSender else { return false }
        switch b[12] {
        case Colorlight.PacketType.row, Colorlight.PacketType.display, Colorlight.PacketType.brightness,
             Colorlight.PacketType.detect, Colorlight.PacketType.detectReply:
            return true
        default:
            return false
        }
    }

    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> ColorlightPacket {
        guard b.count >= 13 else {
            throw WireError(.tooShort, at: b.count, "a Colorlight frame has its type at byte 12, got \(b.count) bytes")
        }
        switch b[12] {
        case Colorlight.PacketType.row: return try row(b)
        case Colorlight.PacketType.display:
            guard b.count >= 41 else {
                throw WireError(.tooShort, at: b.count, "display frame needs 41 bytes for its brightness (35–40), got \(b.count)")
            }
            let d = ColorlightDisplay(variant: b[13], brightness: b[35], red: b[38], green: b[39], blue: b[40])
            return ColorlightPacket(message: .display(d), violations: b.count < Colorlight.displayFrameLength ? [ColorlightRule.displayShort] : [])
        case Colorlight.PacketType.brightness:
            guard b.count >= 16 else {
                throw WireError(.tooShort, at: b.count, "brightness frame needs 16 bytes for R, G, B (13–15), got \(b.count)")
            }
            let v = ColorlightBrightness(red: b[13], green: b[14], blue: b[15])
            return ColorlightPacket(message: .brightness(v), violations: b.count < Colorlight.brightnessFrameLength ? [ColorlightRule.brightnessShort] : [])
        case Colorlight.PacketType.detect:
            return ColorlightPacket(message: .detect, violations: [])
        case Colorlight.PacketType.detectReply:
            guard b.count >= 38 else {
                throw WireError(.tooShort, at: b.count, "detect reply needs 38 bytes for width and height (34–37), got \(b.count)")
            }
            let r = ColorlightDetectReply(model: b[14], firmware: b.u16be(15), width: b.u16be(34), height: b.u16be(36))
            return ColorlightPacket(message: .detectReply(r), violations: [])
        default:
            return ColorlightPacket(message: .other(type: b[12]), violations: [])
        }
    }

    private static func row(_ b: UnsafeRawBufferPointer) throws(WireError) -> ColorlightPacket {
        guard b.count >= Colorlight.rowHeaderLength else {
            throw WireError(.tooShort, at: b.count, "row header is 21 bytes, got \(b.count)")
        }
        let count = Int(b.u16be(17))
        // count ≤ 65535: no overflow.
        let end = Colorlight.rowHeaderLength + 3 * count
        guard end <= b.count else {
            throw WireError(.lengthPastEnd, at: 17, "\(count) pixels need \(3 * count) bytes, \(b.count - Colorlight.rowHeaderLength) present")
        }
        var v: [RuleID] = []
        if b[19] != 0x08 || b[20] != 0x88 { v.append(ColorlightRule.rowMarker) }
        if count > Colorlight.maxPixelsPerPacket { v.append(ColorlightRule.rowOver497) }
        // Frames under 60 bytes may be padded by the NIC: padding is not a trailing-bytes finding.
        if end < b.count, b.count > 60 { v.append(ColorlightRule.rowTrailingBytes) }
        let r = ColorlightRow(row: Int(b.u16be(13)), offset: Int(b.u16be(15)), count: count,
                              pixels: UnsafeRawBufferPointer(rebasing: b[Colorlight.rowHeaderLength..<end]))
        return ColorlightPacket(message: .row(r), violations: v)
    }
}

/// Encodes Colorlight frames into a caller-owned buffer (contents replaced, capacity reused).
/// Frames go from `source` (default the sending card's address) to `destination`
/// (default the receiving cards' address).
public enum ColorlightEncoder {
    private static func header(into out: inout [UInt8], type: UInt8, destination: [UInt8], source: [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: destination.prefix(6))
        out.append(contentsOf: source.prefix(6))
        out.append(type)
    }

    /// A row packet: `pixels` holds B, G, R triples; at most 497 pixels (65535 by the
    /// field) are taken, whole pixels only.
    public static func row(into out: inout [UInt8], row: UInt16, offset: UInt16, pixels: UnsafeRawBufferPointer,
                           destination: [UInt8] = Colorlight.receiverMAC, source: [UInt8] = Colorlight.senderMAC) {
        let count = min(pixels.count / 3, Colorlight.maxPixelsPerPacket)
        header(into: &out, type: Colorlight.PacketType.row, destination: destination, source: source)
        out.appendU16BE(row)
        out.appendU16BE(offset)
        out.appendU16BE(UInt16(count))
        out.append(0x08)
        out.append(0x88)
        if count > 0 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: pixels[0..<(3 * count)])) }
    }

    /// `row(into:…)` written in place into `out`: `pixels` writes B, G, R triples after the
    /// 21-byte header (room for at most 497 pixels, and no further than `out` reaches) and
    /// returns how many bytes; whole pixels are sent. Returns the frame's length (0 when `out`
    /// cannot hold the header or an address is not 6 bytes).
    public static func row(in out: UnsafeMutableRawBufferPointer, row: UInt16, offset: UInt16,
                           pixels: (UnsafeMutableRawBufferPointer) -> Int,
                           destination: [UInt8] = Colorlight.receiverMAC, source: [UInt8] = Colorlight.senderMAC) -> Int {
        let h = Colorlight.rowHeaderLength
        guard out.count >= h, destination.count == 6, source.count == 6 else { return 0 }
        let count = out.fill(from: h, limit: 3 * Colorlight.maxPixelsPerPacket, pixels) / 3
        for i in 0..<6 { out[i] = destination[i]; out[6 + i] = source[i] }
        out[12] = Colorlight.PacketType.row
        out.setU16BE(row, at: 13)
        out.setU16BE(offset, at: 15)
        out.setU16BE(UInt16(count), at: 17)
        out[19] = 0x08
        out[20] = 0x88
        return h + 3 * count
    }

    /// The display (latch) frame, 112 bytes.
    public static func display(into out: inout [UInt8], _ d: ColorlightDisplay = ColorlightDisplay(),
                               destination: [UInt8] = Colorlight.receiverMAC, source: [UInt8] = Colorlight.senderMAC) {
        header(into: &out, type: Colorlight.PacketType.display, destination: destination, source: source)
        out.append(d.variant)
        out.append(contentsOf: repeatElement(0, count: Colorlight.displayFrameLength - out.count))
        out[35] = d.brightness
        out[36] = 0x05
        out[38] = d.red
        out[39] = d.green
        out[40] = d.blue
    }

    /// The brightness frame, 77 bytes.
    public static func brightness(into out: inout [UInt8], _ v: ColorlightBrightness,
                                  destination: [UInt8] = Colorlight.receiverMAC, source: [UInt8] = Colorlight.senderMAC) {
        header(into: &out, type: Colorlight.PacketType.brightness, destination: destination, source: source)
        out += [v.red, v.green, v.blue, 0xFF]
        out.append(contentsOf: repeatElement(0, count: Colorlight.brightnessFrameLength - out.count))
    }

    /// The detect request (`07 00`, zeros), 112 bytes.
    public static func detect(into out: inout [UInt8], destination: [UInt8] = Colorlight.receiverMAC, source: [UInt8] = Colorlight.senderMAC) {
        header(into: &out, type: Colorlight.PacketType.detect, destination: destination, source: source)
        out.append(contentsOf: repeatElement(0, count: Colorlight.detectFrameLength - out.count))
    }

    /// A detect reply (`08 05`, model, firmware, width, height), 112 bytes.
    public static func detectReply(into out: inout [UInt8], _ r: ColorlightDetectReply, destination: [UInt8], source: [UInt8]) {
        header(into: &out, type: Colorlight.PacketType.detectReply, destination: destination, source: source)
        out.append(0x05)
        out.append(r.model)
        out.appendU16BE(r.firmware)
        out.append(contentsOf: repeatElement(0, count: Colorlight.detectReplyFrameLength - out.count))
        out.setU16BE(r.width, at: 34)
        out.setU16BE(r.height, at: 36)
    }
}
