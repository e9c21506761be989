/// Encodes E1.31 packets into a caller-owned buffer (contents replaced, capacity reused).
public enum E131Encoder {
    static func root(_ out: inout [UInt8], vector: UInt32, cid: CID) {
        out.removeAll(keepingCapacity: true)
        out.appendU16BE(0x0010)
        out.appendU16BE(0x0000)
        out.append(contentsOf: E131.acnIdentifier)
        out.appendU16BE(0)  // flags+length, patched by finish
        out.appendU32BE(vector)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: cid.high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: cid.low >> UInt64(shift))) }
    }

    /// Fills in the flags+length field at offset `o` from the final size.
    static func setLength(_ out: inout [UInt8], at o: Int) {
        out.setU16BE(0x7000 | UInt16((out.count - o) & 0x0FFF), at: o)
    }

    /// A data packet: up to 512 slots after `startCode`.
    public static func data(into out: inout [UInt8], cid: CID, sourceName: String, priority: UInt8 = E131.defaultPriority,
                            syncAddress: UInt16 = 0, sequence: UInt8, options: E131Options = [], universe: UInt16,
                            startCode: UInt8 = 0, data: UnsafeRawBufferPointer) {
        root(&out, vector: E131.rootVectorData, cid: cid)
        out.appendU16BE(0)
        out.appendU32BE(E131.framingVectorData)
        out.appendFixedString(sourceName, size: 64)
        out.append(priority)
        out.appendU16BE(syncAddress)
        out.append(sequence)
        out.append(options.rawValue)
        out.appendU16BE(universe)
        out.appendU16BE(0)
        out.append(0x02)
        out.append(0xA1)
        out.appendU16BE(0x0000)
        out.appendU16BE(0x0001)
        let n = min(data.count, 512)
        out.appendU16BE(UInt16(n + 1))
        out.append(startCode)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n]))
        setLength(&out, at: 16); setLength(&out, at: 38); setLength(&out, at: 115)
    }

    /// The longest data packet: 126 header bytes (through the START code) and 512 slots.
    public static let dataMaximumSize = 126 + 512

    /// The fields of a data packet that stay the same from packet to packet (root, framing
    /// and DMP layers but sequence, options, universe, START code and lengths), laid out once
    /// so that a sender writes each packet in place.
    public struct DataTemplate: Sendable {
        let header: [UInt8]

        public init(cid: CID, sourceName: String, priority: UInt8 = E131.defaultPriority, syncAddress: UInt16 = 0) {
            var out: [UInt8] = []
            E131Encoder.data(into: &out, cid: cid, sourceName: sourceName, priority: priority, syncAddress: syncAddress,
                             sequence: 0, universe: 0, data: UnsafeRawBufferPointer(start: nil, count: 0))
            header = out
        }

        /// `E131Encoder.data(into:…)` written in place into `out` (at least `dataMaximumSize`
        /// bytes; 0 is returned for a smaller one): `data` writes the slots at offset 126 (at
        /// most 512) and returns how many. Returns the packet's length; the bytes are those
        /// `data(into:…)` gives for the same fields and slots.
        public func write(in out: UnsafeMutableRawBufferPointer, sequence: UInt8, options: E131Options = [], universe: UInt16,
                          startCode: UInt8 = 0, data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
            guard out.count >= E131Encoder.dataMaximumSize, header.count == 126 else { return 0 }
            let n = out.fill(from: 126, limit: 512, data)
            header.withUnsafeBytes { out.copyMemory(from: $0) }
            out[111] = sequence
            out[112] = options.rawValue
            out.setU16BE(universe, at: 113)
            out.setU16BE(UInt16(n + 1), at: 123)
            out[125] = startCode
            let total = 126 + n
            out.setU16BE(0x7000 | UInt16((total - 16) & 0x0FFF), at: 16)
            out.setU16BE(0x7000 | UInt16((total - 38) & 0x0FFF), at: 38)
            out.setU16BE(0x7000 | UInt16((total - 115) & 0x0FFF), at: 115)
            return total
        }
    }

    /// A synchronization packet (49 bytes).
    public static func sync(into out: inout [UInt8], cid: CID, sequence: UInt8, syncAddress: UInt16) {
        root(&out, vector: E131.rootVectorExtended, cid: cid)
        out.appendU16BE(0)
        out.appendU32BE(E131.framingVectorSync)
        out.append(sequence)
        out.appendU16BE(syncAddress)
        out.appendU16BE(0)
        setLength(&out, at: 16); setLength(&out, at: 38)
    }

    /// One page of universe discovery (at most 512 universes, sorted by the caller).
    public static func discovery(into out: inout [UInt8], cid: CID, sourceName: String, page: UInt8, lastPage: UInt8, universes: ArraySlice<UInt16>) {
        root(&out, vector: E131.rootVectorExtended, cid: cid)
        out.appendU16BE(0)
        out.appendU32BE(E131.framingVectorDiscovery)
        out.appendFixedString(sourceName, size: 64)
        out.appendU32BE(0)
        out.appendU16BE(0)
        out.appendU32BE(E131.discoveryVectorUniverseList)
        out.append(page)
        out.append(lastPage)
        for u in universes.prefix(512) { out.appendU16BE(u) }
        setLength(&out, at: 16); setLength(&out, at: 38); setLength(&out, at: 112)
    }
}
