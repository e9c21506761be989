import PanelCore
import PanelWire

/// A register address of one device type: the same address means different things per type.
public struct NovaStarRegister: Hashable, Sendable {
    public var deviceType: UInt8
    public var address: UInt32
    public init(_ deviceType: UInt8, _ address: UInt32) { self.deviceType = deviceType; self.address = address }

    /// Sending card: model id, 2 bytes LE.
    public static let modelID = NovaStarRegister(NovaStar.DeviceType.sendingCard, 0x0000_0002)
    /// Sending card: input switching status (read-only; 0x5A manual).
    public static let inputMode = NovaStarRegister(NovaStar.DeviceType.sendingCard, 0x0200_0022)
    /// Sending card: input select (DVI 0x58, dual-DVI 0x61, HDMI 0x05, 3G-SDI 0x01, DP 0x5F, HDMI 1.4 0x5A).
    public static let inputSelect = NovaStarRegister(NovaStar.DeviceType.sendingCard, 0x0200_0023)
    /// Sending card: writing here saves the parameters.
    public static let saveParameters = NovaStarRegister(NovaStar.DeviceType.sendingCard, 0x0100_0011)
    /// Receiving card: global brightness, then red, green, blue brightness at the next three addresses.
    public static let brightness = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0001)
    public static let redBrightness = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0002)
    public static let greenBrightness = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0003)
    public static let blueBrightness = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0004)
    /// Receiving card: kill mode (0xFF black, 0 normal).
    public static let kill = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0100)
    /// Receiving card: test pattern (0 off; 2 red, 3 green, 4 blue, 5 white, 6–8 lines, 9 grayscale, 0x0A aging).
    public static let testPattern = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0101)
    /// Receiving card: lock mode (the card holds its picture).
    public static let lock = NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0102)
}

/// A real card's identity and configuration: what its memory holds at start, which receiving
/// cards answer, and where it answered with something other than a frame.
public struct NovaStarProfile: Sendable {
    public var name: String
    /// Receiving cards per output port (index = port).
    public var cardsPerPort: [Int]
    /// Sending-card memory at start: blocks by start address.
    public var sendingCardMemory: [UInt32: [UInt8]]
    /// Every receiving card's memory at start: blocks by start address.
    public var receivingCardMemory: [UInt32: [UInt8]]
    /// Reads the real card answered with raw bytes instead of a frame.
    public var rawAnswers: [NovaStarRegister: [UInt8]]
    /// The card's reply buffer at start. A real card answering ACK 1 (absent receiving card)
    /// sends the requested length from this buffer, which holds the data of the last read.
    public var replyBuffer: [UInt8]
    /// How long a real card takes to give up on an absent receiving card.
    public var absentCardDelay: Timestamp
    /// What follows "rpProMI:" in the discovery answer. "App,0161" is what a field replacement
    /// for a card answered NovaLCT with (the meaning of the fields is not documented publicly).
    public var discoveryIdentity: [UInt8]

    public init(name: String, cardsPerPort: [Int], sendingCardMemory: [UInt32: [UInt8]], receivingCardMemory: [UInt32: [UInt8]],
                rawAnswers: [NovaStarRegister: [UInt8]] = [:], replyBuffer: [UInt8] = [], absentCardDelay: Timestamp,
                discoveryIdentity: [UInt8] = Array("App,0161".utf8)) {
        self.name = name; self.cardsPerPort = cardsPerPort; self.sendingCardMemory = sendingCardMemory
        self.receivingCardMemory = receivingCardMemory; self.rawAnswers = rawAnswers; self.replyBuffer = replyBuffer
        self.absentCardDelay = absentCardDelay; self.discoveryIdentity = discoveryIdentity
    }

    /// Full brightness (global, R, G, B) at 0x02000001…04; 0x02000000 as the real card had it.
    static let receivingCardDefaults: [UInt32: [UInt8]] = [0x0200_0000: [0x1C, 0xFF, 0xFF, 0xFF, 0xFF]]

    /// A card with nothing but defaults: model id 0x0001, one receiving card on port 0.
    public static let plain = NovaStarProfile(
        name: "plain", cardsPerPort: [1],
        sendingCardMemory: [0x0000_0002: [0x01, 0x00], 0x0200_0022: [0x5A, 0x05]],
        receivingCardMemory: receivingCardDefaults, absentCardDelay: Timestamp(nanoseconds: 34_000_000))

    /// The sending card of the public transcript `novastar/baoerman_nova_probe_all_data.tsv`
    /// (NovaLCT probing a real card): model id 0x0001; port 0 with one receiving card, port 1
    /// with two; its memory at 0x00000000 (256 bytes) and 0x05000000 (512 bytes) as read;
    /// 0x14000000 answered raw `55 55`; about 34 ms before ACK 1 for an absent card; its reply
    /// buffer held the receiving card's firmware record.
    public static let baoerman = NovaStarProfile(
        name: "baoerman", cardsPerPort: [1, 2],
        sendingCardMemory: [
            0x0000_0000: hex("39f601000101ffffffffffffffffffffffffffffffff0030e201000006d5") + [UInt8](repeating: 0xFF, count: 226),
            0x0200_0022: [0x5A, 0x05],
            0x0500_0000: hex("4e535344d959e90307001c5692000000b2000000e6a0") + [UInt8](repeating: 0, count: 490),
        ],
        receivingCardMemory: receivingCardDefaults,
        rawAnswers: [NovaStarRegister(NovaStar.DeviceType.sendingCard, 0x1400_0000): [0x55, 0x55]],
        replyBuffer: hex("04a1000004080105") + Array("2023.06.16 MRV416_MCU_V1.8.1.3.B4".utf8) + [UInt8](repeating: 0, count: 89)
            + hex("518f04080105534600000000000000000000000000000000000000004d43552de99b85e789b9e58a9befbc88e696b0efbc89")
            + [UInt8](repeating: 0, count: 74) + hex("0c6d"),
        absentCardDelay: Timestamp(nanoseconds: 34_000_000))

    /// Profiles by option name.
    public static let named: [String: NovaStarProfile] = ["plain": plain, "baoerman": baoerman]

    private static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex), let v = UInt8(s[i..<j], radix: 16) {
            out.append(v); i = j
        }
        return out
    }
}
