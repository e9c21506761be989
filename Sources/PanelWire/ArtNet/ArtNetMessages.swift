import PanelCore

/// Art-Net 4 constants (Artistic Licence, "Art-Net 4 Specification").
public enum ArtNet {
    public static let port: UInt16 = 6454
    public static let protocolVersion: UInt16 = 14
    /// "Art-Net\0"
    public static let identifier: [UInt8] = [0x41, 0x72, 0x74, 0x2D, 0x4E, 0x65, 0x74, 0x00]

    /// Opcodes PanelSim knows by name (little-endian on the wire).
    public enum OpCode: UInt16, Sendable, CaseIterable {
        case poll = 0x2000, pollReply = 0x2100, diagData = 0x2300, command = 0x2400
        case dataRequest = 0x2700, dataReply = 0x2800
        case dmx = 0x5000, nzs = 0x5100, sync = 0x5200, address = 0x6000, input = 0x7000
        case todRequest = 0x8000, todData = 0x8100, todControl = 0x8200, rdm = 0x8300, rdmSub = 0x8400
        case timeCode = 0x9700, timeSync = 0x9800, trigger = 0x9900, directory = 0x9A00, directoryReply = 0x9B00
        case ipProg = 0xF800, ipProgReply = 0xF900

        public var name: String {
            switch self {
            case .poll: return "ArtPoll"
            case .pollReply: return "ArtPollReply"
            case .diagData: return "ArtDiagData"
            case .command: return "ArtCommand"
            case .dataRequest: return "ArtDataRequest"
            case .dataReply: return "ArtDataReply"
            case .dmx: return "ArtDmx"
            case .nzs: return "ArtNzs"
            case .sync: return "ArtSync"
            case .address: return "ArtAddress"
            case .input: return "ArtInput"
            case .todRequest: return "ArtTodRequest"
            case .todData: return "ArtTodData"
            case .todControl: return "ArtTodControl"
            case .rdm: return "ArtRdm"
            case .rdmSub: return "ArtRdmSub"
            case .timeCode: return "ArtTimeCode"
            case .timeSync: return "ArtTimeSync"
            case .trigger: return "ArtTrigger"
            case .directory: return "ArtDirectory"
            case .directoryReply: return "ArtDirectoryReply"
            case .ipProg: return "ArtIpProg"
            case .ipProgReply: return "ArtIpProgReply"
            }
        }
    }
}

/// Spec rules an Art-Net packet can break while still being interpretable.
public struct ArtNetViolations: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// ProtVer below 14.
    public static let oldProtocolVersion = ArtNetViolations(rawValue: 1 << 0)
    /// ArtDmx/ArtNzs Length is odd (the spec requires an even length).
    public static let oddLength = ArtNetViolations(rawValue: 1 << 1)
    /// Length is 0 or above 512.
    public static let lengthOutOfRange = ArtNetViolations(rawValue: 1 << 2)
    /// Bytes follow the data that Length announces.
    public static let trailingBytes = ArtNetViolations(rawValue: 1 << 3)
    /// Net has its top bit set (Port-Address is 15 bits).
    public static let netHighBit = ArtNetViolations(rawValue: 1 << 4)
    /// ArtNzs with START code 0 (that is ArtDmx's job).
    public static let nzsZeroStartCode = ArtNetViolations(rawValue: 1 << 5)
    /// ArtPollReply shorter than the 207 bytes receivers must accept.
    public static let shortPollReply = ArtNetViolations(rawValue: 1 << 6)
    /// ArtPoll shorter than 14 bytes (pre-Art-Net-3 form without Flags/DiagPriority).
    public static let shortPoll = ArtNetViolations(rawValue: 1 << 7)

    static let table: [(ArtNetViolations, RuleID, String)] = [
        (.oldProtocolVersion, RuleID("artnet.protocol-version"), "ProtVer is below 14 (Art-Net 4, packet header)"),
        (.oddLength, RuleID("artnet.dmx.odd-length"), "ArtDmx Length must be even (Art-Net 4, ArtDmx: Length)"),
        (.lengthOutOfRange, RuleID("artnet.dmx.length-range"), "ArtDmx Length must be 2..512 (Art-Net 4, ArtDmx: Length)"),
        (.trailingBytes, RuleID("artnet.trailing-bytes"), "bytes after the announced data"),
        (.netHighBit, RuleID("artnet.dmx.net-high-bit"), "Net's top bit is set; Port-Address is 15 bits (Art-Net 4, Port-Address)"),
        (.nzsZeroStartCode, RuleID("artnet.nzs.zero-start-code"), "ArtNzs must carry a non-zero START code (Art-Net 4, ArtNzs)"),
        (.shortPollReply, RuleID("artnet.pollreply.short"), "ArtPollReply shorter than 207 bytes (Art-Net 4, ArtPollReply)"),
        (.shortPoll, RuleID("artnet.poll.short"), "ArtPoll without Flags and DiagPriority (pre-Art-Net 3 form)"),
    ]

    /// The stable rule IDs, in a fixed order.
    public var ruleIDs: [RuleID] { ArtNetViolations.table.filter { contains($0.0) }.map { $0.1 } }
    /// One-line explanation of a rule, naming the spec section.
    public static func explanation(_ id: RuleID) -> String? { table.first { $0.1 == id }?.2 }
}

/// ArtDmx or ArtNzs: one universe's slot data. `data` is a view into the decoded packet,
/// valid only as long as that buffer is.
public struct ArtDmx {
    public var protocolVersion: UInt16
    /// 0 = sequencing disabled, else 1...255.
    public var sequence: UInt8
    /// Physical input port (ArtDmx only; 0 for ArtNzs).
    public var physical: UInt8
    /// START code: 0 for ArtDmx, the packet's START code for ArtNzs.
    public var startCode: UInt8
    /// 15-bit Port-Address: Net << 8 | Sub-Net << 4 | Universe.
    public var portAddress: UInt16
    public var data: UnsafeRawBufferPointer
    public var violations: ArtNetViolations
}

/// ArtSync: output the held ArtDmx data now.
public struct ArtSync: Equatable, Sendable {
    public var protocolVersion: UInt16
    public var aux1: UInt8
    public var aux2: UInt8
    public var violations: ArtNetViolations
}

/// ArtPoll, short (12/14 bytes) or Art-Net 4 long form with targeted-mode fields.
public struct ArtPoll: Equatable, Sendable {
    public var protocolVersion: UInt16
    public var flags: UInt8
    public var diagPriority: UInt8
    /// Targeted mode (Flags bit 5): only ports in bottom...top answer.
    public var targetPortAddressTop: UInt16?
    public var targetPortAddressBottom: UInt16?
    public var estaManufacturer: UInt16?
    public var oem: UInt16?
    public var violations: ArtNetViolations

    public init(protocolVersion: UInt16 = ArtNet.protocolVersion, flags: UInt8 = 0, diagPriority: UInt8 = 0,
                targetPortAddressTop: UInt16? = nil, targetPortAddressBottom: UInt16? = nil,
                estaManufacturer: UInt16? = nil, oem: UInt16? = nil, violations: ArtNetViolations = []) {
        self.protocolVersion = protocolVersion
        self.flags = flags
        self.diagPriority = diagPriority
        self.targetPortAddressTop = targetPortAddressTop
        self.targetPortAddressBottom = targetPortAddressBottom
        self.estaManufacturer = estaManufacturer
        self.oem = oem
        self.violations = violations
    }

    /// Flags bit 5: targeted mode.
    public var isTargeted: Bool { flags & 0x20 != 0 }
}

/// ArtPollReply: a node describing itself and up to four of its ports.
public struct ArtPollReply: Equatable, Sendable {
    public var ipAddress: [UInt8] = [0, 0, 0, 0]
    public var port: UInt16 = ArtNet.port
    public var versionInfo: UInt16 = 0
    public var netSwitch: UInt8 = 0
    public var subSwitch: UInt8 = 0
    public var oem: UInt16 = 0
    public var ubeaVersion: UInt8 = 0
    public var status1: UInt8 = 0
    public var estaManufacturer: UInt16 = 0
    public var shortName: String = ""
    public var longName: String = ""
    public var nodeReport: String = ""
    public var numPorts: UInt16 = 0
    public var portTypes: [UInt8] = [0, 0, 0, 0]
    public var goodInput: [UInt8] = [0, 0, 0, 0]
    public var goodOutputA: [UInt8] = [0, 0, 0, 0]
    public var swIn: [UInt8] = [0, 0, 0, 0]
    public var swOut: [UInt8] = [0, 0, 0, 0]
    public var acnPriority: UInt8 = 0
    public var swMacro: UInt8 = 0
    public var swRemote: UInt8 = 0
    public var style: UInt8 = 0
    public var mac: [UInt8] = [0, 0, 0, 0, 0, 0]
    public var bindIp: [UInt8] = [0, 0, 0, 0]
    public var bindIndex: UInt8 = 0
    public var status2: UInt8 = 0
    public var goodOutputB: [UInt8] = [0, 0, 0, 0]
    public var status3: UInt8 = 0
    public var violations: ArtNetViolations = []

    public init() {}

    /// The Port-Address of output port `i` (0...3): Net, Sub-Net and SwOut's low nibble.
    public func outputPortAddress(_ i: Int) -> UInt16 {
        guard i >= 0, i < 4 else { return 0 }
        return UInt16(netSwitch & 0x7F) << 8 | UInt16(subSwitch & 0x0F) << 4 | UInt16(swOut[i] & 0x0F)
    }
}

/// ArtAddress: remote programming of names, Port-Addresses and merge mode.
public struct ArtAddress: Equatable, Sendable {
    public var protocolVersion: UInt16 = ArtNet.protocolVersion
    /// Bit 7 set: program Net to the low 7 bits; 0x7F: no change; 0: reset.
    public var netSwitch: UInt8 = 0x7F
    public var bindIndex: UInt8 = 0
    /// Empty: no change.
    public var shortName: String = ""
    public var longName: String = ""
    public var swIn: [UInt8] = [0x7F, 0x7F, 0x7F, 0x7F]
    public var swOut: [UInt8] = [0x7F, 0x7F, 0x7F, 0x7F]
    public var subSwitch: UInt8 = 0x7F
    public var acnPriority: UInt8 = 255
    public var command: UInt8 = 0
    public var violations: ArtNetViolations = []

    public init() {}

    /// What `command` asks for, for the commands a node's merge and outputs care about.
    public enum Command: Equatable, Sendable {
        case none, cancelMerge
        case mergeLTP(port: Int), mergeHTP(port: Int), clearOutput(port: Int)
        case other(UInt8)
    }

    public var decodedCommand: Command {
        switch command {
        case 0x00: return .none
        case 0x01: return .cancelMerge
        case 0x10...0x13: return .mergeLTP(port: Int(command - 0x10))
        case 0x50...0x53: return .mergeHTP(port: Int(command - 0x50))
        case 0x90...0x93: return .clearOutput(port: Int(command - 0x90))
        default: return .other(command)
        }
    }
}

/// A decoded Art-Net packet.
public enum ArtNetMessage {
    case dmx(ArtDmx)
    case nzs(ArtDmx)
    case sync(ArtSync)
    case poll(ArtPoll)
    // Boxed: these two are several times the size of ArtDmx, and every message would
    // otherwise be copied at their size.
    indirect case pollReply(ArtPollReply)
    indirect case address(ArtAddress)
    /// A valid Art-Net packet of an opcode PanelSim does not act on (name when known).
    case unsupported(opCode: UInt16, name: String?)
}
