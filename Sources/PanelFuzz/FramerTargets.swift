import PanelCore
import PanelDevice
import PanelWire

/// Targets for the wire codecs and stream framers on their own, without a device model.
///
/// A framer target reads its input as: byte 0, the size of each read minus one; the rest, the
/// stream. The stream is framed twice, in one read and in reads of that size, and both must
/// give the same messages and skipped-byte count: framing must not depend on how a stream is
/// split. Every framed message must decode, and the framer's memory must stay bounded.
enum FramerTargets {
    /// Stops the run with a message libFuzzer reports as a crash.
    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError(message()) }
    }

    /// The read size and the stream of a framer target's input.
    static func split(_ b: UnsafeRawBufferPointer) -> (piece: Int, stream: UnsafeRawBufferPointer)? {
        guard let first = b.first else { return nil }
        return (Int(first) + 1, UnsafeRawBufferPointer(rebasing: b[1...]))
    }

    /// Calls `body` with `stream` cut into reads of `piece` bytes (one empty read for an empty stream).
    static func reads(_ stream: UnsafeRawBufferPointer, piece: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        var offset = 0
        repeat {
            let end = min(stream.count, offset + piece)
            body(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
            offset = end
        } while offset < stream.count
    }

    /// What a framer made of a stream: the messages (with a tag such as label or type) and the
    /// bytes it skipped, counted after the stream ended.
    struct Framed: Equatable {
        var messages: [[UInt8]] = []
        var skipped = 0
    }

    /// Frames `b` in one read and in reads of the size its first byte gives; both must agree.
    static func differential(_ b: UnsafeRawBufferPointer, _ name: String,
                             _ frame: (UnsafeRawBufferPointer, Int) -> Framed) {
        guard let (piece, stream) = split(b) else { return }
        let whole = frame(stream, max(1, stream.count))
        let pieces = frame(stream, piece)
        expect(whole == pieces, "\(name): framing differs between one read and reads of \(piece) bytes")
    }

    // MARK: NovaStar

    static func novaStarFramer(_ b: UnsafeRawBufferPointer) {
        if let f = try? NovaStarFrame.decode(b) { checkRoundTrip(f, b) }
        _ = try? ProtocolPlugin.novaStar.summarize(b, true)
        differential(b, "NovaStarFramer") { stream, piece in
            var framer = NovaStarFramer()
            var out = Framed()
            reads(stream, piece: piece) { read in
                framer.push(read, frame: { f in
                    do {
                        checkRoundTrip(try NovaStarFrame.decode(f), f)
                    } catch {
                        expect(false, "NovaStarFramer handed on a frame NovaStarFrame.decode rejects: \(error)")
                    }
                    out.messages.append(Array(f))
                }, dropped: { _ in })
                expect(framer.pendingBytes <= NovaStar.minimumFrame + NovaStar.maxDataLength,
                       "NovaStarFramer holds \(framer.pendingBytes) bytes")
            }
            framer.reset()
            out.skipped = framer.skippedBytes
            return out
        }
    }

    /// A decoded frame with a valid checksum encodes back to the bytes it came from.
    static func checkRoundTrip(_ f: NovaStarFrame, _ b: UnsafeRawBufferPointer) {
        guard f.checksumValid else { return }
        let encoded = f.encoded()
        expect(encoded.count <= b.count && encoded.elementsEqual(b.prefix(encoded.count)),
               "NovaStarFrame does not encode back to the bytes it decoded from")
    }

    // MARK: OPC, Enttec Pro, TPM2

    static func opcFramer(_ b: UnsafeRawBufferPointer) {
        _ = try? OPCDecoder.decode(b)
        differential(b, "OPCFramer") { stream, piece in
            var framer = OPCFramer()
            var out = Framed()
            reads(stream, piece: piece) { read in
                framer.feed(read) { m in
                    do {
                        let message = try OPCDecoder.decode(m)
                        expect(OPC.headerSize + message.data.count == m.count, "OPCFramer handed on \(m.count) bytes for a message of \(message.data.count)")
                        _ = message.systemID
                    } catch {
                        expect(false, "OPCFramer handed on a message OPCDecoder rejects: \(error)")
                    }
                    out.messages.append(Array(m))
                }
                expect(framer.pendingCount <= OPC.maximumMessageSize, "OPCFramer holds \(framer.pendingCount) bytes")
            }
            framer.reset()
            expect(framer.pendingCount == 0, "OPCFramer holds bytes after reset")
            return out
        }
    }

    static func enttecFramer(_ b: UnsafeRawBufferPointer) {
        differential(b, "EnttecProFramer") { stream, piece in
            var framer = EnttecProFramer()
            var out = Framed()
            reads(stream, piece: piece) { read in
                framer.push(read, message: { m in
                    expect(m.data.count <= EnttecPro.maxDataLength, "EnttecProFramer handed on \(m.data.count) data bytes")
                    if m.label == EnttecPro.Label.setParameters, let p = try? EnttecPro.Parameters.decodeSet(m.data, firmware: 0x0144) {
                        expect(p.userConfig.count <= EnttecPro.Parameters.maxUserConfig, "user config of \(p.userConfig.count) bytes")
                    }
                    out.messages.append([m.label] + Array(m.data))
                }, dropped: { _ in })
                expect(framer.pendingBytes <= 4 + EnttecPro.maxDataLength, "EnttecProFramer holds \(framer.pendingBytes) bytes")
            }
            framer.reset()
            out.skipped = framer.skippedBytes
            return out
        }
    }

    /// Byte 0 of the stream also sets the framer's data limit (its value × 257, 0 … 65535).
    static func tpm2Framer(_ b: UnsafeRawBufferPointer) {
        let limit = Int(b.count > 1 ? b[1] : 0xFF) * 257
        differential(b, "TPM2SerialFramer") { stream, piece in
            var framer = TPM2SerialFramer(maxDataLength: limit)
            var out = Framed()
            reads(stream, piece: piece) { read in
                framer.push(read, packet: { p in
                    expect(p.data.count <= limit, "TPM2SerialFramer handed on \(p.data.count) bytes, limit \(limit)")
                    out.messages.append([p.type.rawValue] + Array(p.data))
                }, dropped: { _ in })
            }
            framer.reset()
            out.skipped = framer.skippedBytes
            return out
        }
    }

    // MARK: datagram decoders

    static func ddpDecode(_ b: UnsafeRawBufferPointer) {
        _ = DDPDecoder.looksLikeDDP(b)
        if let p = try? DDPDecoder.decode(b) { _ = p.data.reduce(0, &+) }
        _ = try? ProtocolPlugin.ddp.summarize(b, true)
        _ = ProtocolPlugin.ddp.channelExtent(b)
    }

    static func tpm2NetDecode(_ b: UnsafeRawBufferPointer) {
        _ = TPM2NetDecoder.looksLikeTPM2Net(b)
        if let p = try? TPM2NetDecoder.decode(b) { _ = p.data.reduce(0, &+) }
        _ = try? ProtocolPlugin.tpm2net.summarize(b, true)
        _ = ProtocolPlugin.tpm2net.channelExtent(b)
    }

    /// The whole input is one Ethernet frame; a row with at most 497 pixels and the right marker
    /// encodes back to the bytes it decoded from.
    static func colorlightDecode(_ b: UnsafeRawBufferPointer) {
        _ = ColorlightDecoder.looksLikeColorlight(b)
        _ = try? ProtocolPlugin.colorlight.summarize(b, true)
        guard let packet = try? ColorlightDecoder.decode(b), case .row(let r) = packet.message else { return }
        expect(r.pixels.count == 3 * r.count, "row of \(r.count) pixels with \(r.pixels.count) bytes")
        _ = r.pixels.reduce(0, &+)
        guard r.count <= Colorlight.maxPixelsPerPacket, b[19] == 0x08, b[20] == 0x88 else { return }
        var out: [UInt8] = []
        ColorlightEncoder.row(into: &out, row: UInt16(truncatingIfNeeded: r.row), offset: UInt16(truncatingIfNeeded: r.offset),
                              pixels: r.pixels, destination: Array(b[0..<6]), source: Array(b[6..<12]))
        expect(out.elementsEqual(b.prefix(out.count)), "Colorlight row does not encode back to its bytes")
    }
}
