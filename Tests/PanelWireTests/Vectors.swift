/// Byte-exact test vectors, written by hand from the Art-Net 4 specification and
/// ANSI E1.31-2018 (offsets in the comments), then checked with tshark 4.0.17: the vectors
/// were written to a pcap as UDP 6454 / 5568 payloads and read with `tshark -V` (sACN with
/// `--enable-heuristic acn -o acn.dmx_enable:TRUE`). What tshark showed is quoted above
/// each vector.
///
/// Notation understood by `hex(_:)`: hex byte pairs separated by spaces; `00*64` repeats a
/// byte 64 times (for NUL padding of fixed-size fields).
enum Vectors {
    // tshark: "Art-Net, Opcode: ArtDMX (0x5000)"; artnet.header.protver 14; artnet.output.sequence 42;
    // artnet.output.physical 1; artnet.output.universe 4660 (= 0x1234: 4.0 reads bytes 14–15 as one
    // LE Port-Address); artnet.output.length 6; dmx_chan.data_filter 01:02:03:04:05:06.
    static let artDmx = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID "Art-Net\0"
        "00 50",                    // 8   OpCode 0x5000, LE
        "00 0E",                    // 10  ProtVer 14, BE
        "2A",                       // 12  Sequence 42
        "01",                       // 13  Physical 1
        "34",                       // 14  SubUni 0x34 (Sub-Net 3, Universe 4)
        "12",                       // 15  Net 0x12 → Port-Address 0x1234
        "00 06",                    // 16  Length 6, BE
        "01 02 03 04 05 06"         // 18  data
    )

    // tshark: "Art-Net, Opcode: ArtNzs (0x5100)"; ProtVer 14; 4.0 does not dissect the ArtNzs body:
    // "Data: 05cc01000002ff80" (Sequence 5, StartCode 0xCC, SubUni 1, Net 0, Length 2, ff 80).
    static let artNzs = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 51",                    // 8   OpCode 0x5100
        "00 0E",                    // 10  ProtVer 14
        "05",                       // 12  Sequence 5
        "CC",                       // 13  StartCode 0xCC
        "01",                       // 14  SubUni 1
        "00",                       // 15  Net 0
        "00 02",                    // 16  Length 2
        "FF 80"                     // 18  data
    )

    // tshark: "Art-Net, Opcode: ArtSync (0x5200)"; ProtVer 14; "Data: 0000" (Aux1, Aux2).
    static let artSync = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 52",                    // 8   OpCode 0x5200
        "00 0E",                    // 10  ProtVer 14
        "00 00"                     // 12  Aux1, Aux2
    )

    // tshark: "Opcode: ArtPoll (0x2000)"; ProtVer 14; TalkToMe 0x06 ("Send me ArtPollReply on change:
    // Enabled", "Send diagnostics messages: Enabled", unicast: Broadcast, Targeted mode: Disabled);
    // "Priority: DpLow (16)".
    static let artPollShort = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 20",                    // 8   OpCode 0x2000
        "00 0E",                    // 10  ProtVer 14
        "06",                       // 12  Flags: reply on change, send diagnostics
        "10"                        // 13  DiagPriority DpLow
    )

    // tshark: ArtPoll; ProtVer 14; TalkToMe 0x20 ("Targeted mode: Enabled"); Priority DpLow (16);
    // "Target Port Top: 3"; "Target Port Bottom: 1"; "Excess Bytes: 7ff000ff" (4.0 does not name
    // EstaMan/Oem at 18–21).
    static let artPollLong = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 20",                    // 8   OpCode 0x2000
        "00 0E",                    // 10  ProtVer 14
        "20",                       // 12  Flags: targeted mode
        "10",                       // 13  DiagPriority
        "00 03",                    // 14  TargetPortAddressTop 3, BE
        "00 01",                    // 16  TargetPortAddressBottom 1, BE
        "7F F0",                    // 18  EstaMan 0x7FF0, BE
        "00 FF"                     // 20  Oem 0x00FF, BE
    )

    // tshark: "Opcode: ArtPollReply (0x2100)" (no ProtVer); IP Address 192.168.1.100; Port number 6454;
    // Version Info 0x0001; NetSwitch 0x01; SubSwitch 0x02; "Oem: … OemUnknown (0x00ff)"; UBEA Version 0;
    // Status 0xe0 (programming authority: network, indicators: Normal Mode); "ESTA Code: RESERVED FOR
    // PROTOTYPING/EXPERIMENTAL USE ONLY (0x7ff0)"; Short Name "alun-alun"; Long Name "PanelSim Art-Net
    // node alun-alun"; Node Report "#0001 [0] OK"; Number of Ports 1; "Type of Port 1: Art-Net ->
    // DMX512 (0x80)"; Output status of Port 1 0x80 ("Data transmitted: 0x1"); Output Subswitch of
    // Port 1 0x03, "[Universe of output port 1: 291]" (= 0x123); "SwVideo: Unknown (0x64)" (4.0's name
    // for byte 194, AcnPriority in Art-Net 4); SwMacro 0; SwRemote 0; spare 000000; Style StNode (0x00);
    // MAC 02:50:53:00:00:01; Bind IP Address 192.168.1.100; Bind Index 0x01; Status2 0x0e (DHCP used,
    // DHCP supported, 15bit Port-Address); bytes 213–238 shown as "filler" (26 zero bytes).
    static let artPollReply = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 21",                    // 8   OpCode 0x2100 (no ProtVer)
        "C0 A8 01 64",              // 10  IP 192.168.1.100
        "36 19",                    // 14  Port 0x1936, LE
        "00 01",                    // 16  VersInfo 1, BE
        "01",                       // 18  NetSwitch 1
        "02",                       // 19  SubSwitch 2
        "00 FF",                    // 20  Oem 0x00FF, BE
        "00",                       // 22  UbeaVersion
        "E0",                       // 23  Status1
        "F0 7F",                    // 24  EstaMan 0x7FF0, LE
        "61 6C 75 6E 2D 61 6C 75 6E 00*9",                            // 26  ShortName "alun-alun" [18]
        "50 61 6E 65 6C 53 69 6D 20 41 72 74 2D 4E 65 74 20 6E 6F 64 65 20 61 6C 75 6E 2D 61 6C 75 6E 00*33",
                                    // 44  LongName "PanelSim Art-Net node alun-alun" [64]
        "23 30 30 30 31 20 5B 30 5D 20 4F 4B 00*52",                  // 108 NodeReport "#0001 [0] OK" [64]
        "00 01",                    // 172 NumPorts 1, BE
        "80 00 00 00",              // 174 PortTypes: output, DMX512
        "00 00 00 00",              // 178 GoodInput
        "80 00 00 00",              // 182 GoodOutputA: data being transmitted
        "00 00 00 00",              // 186 SwIn
        "03 00 00 00",              // 190 SwOut → Port-Address 0x0123
        "64",                       // 194 AcnPriority 100
        "00",                       // 195 SwMacro
        "00",                       // 196 SwRemote
        "00 00 00",                 // 197 spare
        "00",                       // 200 Style StNode
        "02 50 53 00 00 01",        // 201 MAC
        "C0 A8 01 64",              // 207 BindIp
        "01",                       // 211 BindIndex 1
        "0E",                       // 212 Status2
        "00 00 00 00",              // 213 GoodOutputB
        "00",                       // 217 Status3
        "00*21"                     // 218 DefaultRespUID[6], User[2], RefreshRate[2], filler → 239
    )

    // tshark: "Opcode: ArtAddress (0x6000)"; ProtVer 14; "NetSwitch: Net: 1, Write Net"; byte 13 shown
    // as "filler: 02" (4.0 does not name BindIndex); Short Name "Pole-7"; Long Name "Alun-alun west
    // face"; Input Subswitch 0x7f ×4; Output Subswitch 0x85 0x7f 0x7f 0x7f; "SubSwitch: Sub-Net: 3,
    // Write Sub-Net"; "SwVideo: 0xff" (byte 105, AcnPriority in Art-Net 4); "Command: DMX port 1 LTP (0x10)".
    static let artAddress = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 60",                    // 8   OpCode 0x6000
        "00 0E",                    // 10  ProtVer 14
        "81",                       // 12  NetSwitch: program Net 1
        "02",                       // 13  BindIndex 2
        "50 6F 6C 65 2D 37 00*12",  // 14  ShortName "Pole-7" [18]
        "41 6C 75 6E 2D 61 6C 75 6E 20 77 65 73 74 20 66 61 63 65 00*45",  // 32 LongName [64]
        "7F 7F 7F 7F",              // 96  SwIn: no change
        "85 7F 7F 7F",              // 100 SwOut[0]: program universe 5
        "83",                       // 104 SubSwitch: program Sub-Net 3
        "FF",                       // 105 AcnPriority: no change
        "10"                        // 106 Command AcMergeLtp0
    )

    // tshark: "Opcode: ArtTimeCode (0x9700)"; ProtVer 14; body not dissected by 4.0:
    // "Excess Bytes: 00000a1e050201".
    static let artTimeCode = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 97",                    // 8   OpCode 0x9700
        "00 0E",                    // 10  ProtVer 14
        "00 00",                    // 12  filler
        "0A 1E 05 02",              // 14  Frames 10, Seconds 30, Minutes 5, Hours 2
        "01"                        // 18  Type EBU
    )

    // tshark: "Art-Net, Opcode: Unknown (0xfd00)"; ProtVer 14; "Data: 0102" (the vendor opcode seen
    // in fughilli_device_configuration.pcapng).
    static let artVendorFD00 = hex(
        "41 72 74 2D 4E 65 74 00",  // 0   ID
        "00 FD",                    // 8   OpCode 0xFD00
        "00 0E",                    // 10  ProtVer 14
        "01 02"                     // 12  vendor data
    )

    /// The CID used by every sACN vector: 50616e65-6c53-696d-0000-000000000001.
    static let cidHex = "50 61 6E 65 6C 53 69 6D 00 00 00 00 00 00 00 01"
    /// "PanelSim test", NUL-padded to 64 bytes.
    static let sourceNameHex = "50 61 6E 65 6C 53 69 6D 20 74 65 73 74 00*51"

    // tshark (--enable-heuristic acn -o acn.dmx_enable:TRUE): acn.preamble_size 16; acn.postamble_size 0;
    // acn.packet_identifier "ASC-E1.17"; root acn.pdu.flags 0x70, acn.pdu.length 116, acn.protocol_id 4,
    // acn.cid 50616e65-6c53-696d-0000-000000000001; framing acn.pdu.length 94, acn.dmx_vector 2,
    // acn.dmx.source_name "PanelSim test", acn.dmx.priority 100, acn.dmx.reserved 0 (4.0's name for the
    // sync address), acn.dmx.seq_number 17, acn.dmx.options 0, acn.dmx.universe 1; DMP acn.pdu.length 17,
    // acn.dmp_vector 2, address type 0xa1 (virtual, absolute, range, 2 octets),
    // acn.dmx.first_property_address 0, acn.dmx.increment 1, acn.dmx.count 7, acn.dmx.start_code2 0,
    // acn.dmx.data "001-020: FF .. 80  1 7F 40". Six slots: with fewer, 4.0 flags any E1.31 packet
    // "[Malformed Packet]" (its Info column reads six slots), so the vectors carry six.
    static let e131Data = hex(
        "00 10",                    // 0   preamble size
        "00 00",                    // 2   post-amble size
        "41 53 43 2D 45 31 2E 31 37 00 00 00",  // 4 ACN packet identifier
        "70 74",                    // 16  root flags 0x7 + length 116 (132 − 16)
        "00 00 00 04",              // 18  root vector VECTOR_ROOT_E131_DATA
        cidHex,                     // 22  CID
        "70 5E",                    // 38  framing flags + length 94
        "00 00 00 02",              // 40  framing vector VECTOR_E131_DATA_PACKET
        sourceNameHex,              // 44  source name [64]
        "64",                       // 108 priority 100
        "00 00",                    // 109 synchronization address 0
        "11",                       // 111 sequence 17
        "00",                       // 112 options
        "00 01",                    // 113 universe 1
        "70 11",                    // 115 DMP flags + length 17
        "02",                       // 117 DMP vector SET_PROPERTY
        "A1",                       // 118 address type & data type
        "00 00",                    // 119 first property address
        "00 01",                    // 121 address increment
        "00 07",                    // 123 property value count (START code + 6)
        "00",                       // 125 START code
        "FF 00 80 01 7F 40"         // 126 slots 1–6
    )

    // tshark: root length 116, vector 4; framing length 94; source_name "PanelSim test";
    // acn.dmx.priority 200; acn.dmx.reserved 7000 (the sync address); acn.dmx.seq_number 254;
    // acn.dmx.options 160 (option_p "Preview Data: True", option_s False; 4.0 has no
    // Force_Synchronization field); acn.dmx.universe 4660; DMP length 17, count 7;
    // acn.dmx.start_code2 221 (0xdd); acn.dmx.data "001-020: 64 64 64 64 64 64".
    static let e131DataOptions = hex(
        "00 10 00 00",
        "41 53 43 2D 45 31 2E 31 37 00 00 00",
        "70 74",                    // 16  root length 116 (132 − 16)
        "00 00 00 04",
        cidHex,
        "70 5E",                    // 38  framing length 94
        "00 00 00 02",
        sourceNameHex,
        "C8",                       // 108 priority 200
        "1B 58",                    // 109 synchronization address 7000
        "FE",                       // 111 sequence 254
        "A0",                       // 112 options: preview, force synchronization
        "12 34",                    // 113 universe 4660
        "70 11",                    // 115 DMP length 17
        "02 A1 00 00 00 01",
        "00 07",                    // 123 property value count 7
        "DD",                       // 125 START code 0xDD
        "64 64 64 64 64 64"         // 126 per-address priorities
    )

    // tshark 4.0: not claimed by the acn heuristic (root vector 8 is unknown to 4.0): "UDP 5568 → 5568
    // Len=49". Cross-checked instead against sacn 1.11.0 (Tests/Interop/requirements.txt):
    // SyncPacket(cid, syncAddr=7000, sequence=7).getBytes() is byte-for-byte this vector.
    static let e131Sync = hex(
        "00 10 00 00",
        "41 53 43 2D 45 31 2E 31 37 00 00 00",
        "70 21",                    // 16  root length 33 (49 − 16)
        "00 00 00 08",              // 18  VECTOR_ROOT_E131_EXTENDED
        cidHex,                     // 22  CID
        "70 0B",                    // 38  framing length 11
        "00 00 00 01",              // 40  VECTOR_E131_EXTENDED_SYNCHRONIZATION
        "07",                       // 44  sequence 7
        "1B 58",                    // 45  synchronization address 7000
        "00 00"                     // 47  reserved
    )

    // tshark 4.0: not dissected ("UDP 5568 → 5568 Len=126"). Cross-checked against sacn 1.11.0:
    // UniverseDiscoveryPacket(cid, "PanelSim test", (1, 2, 7000)).getBytes() is byte-for-byte this vector.
    static let e131Discovery = hex(
        "00 10 00 00",
        "41 53 43 2D 45 31 2E 31 37 00 00 00",
        "70 6E",                    // 16  root length 110 (126 − 16)
        "00 00 00 08",              // 18  VECTOR_ROOT_E131_EXTENDED
        cidHex,
        "70 58",                    // 38  framing length 88
        "00 00 00 02",              // 40  VECTOR_E131_EXTENDED_DISCOVERY
        sourceNameHex,              // 44  source name
        "00 00 00 00",              // 108 reserved
        "70 0E",                    // 112 universe discovery flags + length 14
        "00 00 00 01",              // 114 VECTOR_UNIVERSE_DISCOVERY_UNIVERSE_LIST
        "00",                       // 118 page 0
        "00",                       // 119 last page 0
        "00 01 00 02 1B 58"         // 120 universes 1, 2, 7000
    )

    // The payload of captures/public/sacn/liveshark_sacn.pcapng, verbatim: every PDU flags+length
    // field is 0x0000, address type 0x00, increment 0, property count 0.
    // tshark: preamble 16, "ASC-E1.17", then "PDU Flags: 0x00, Length: 0, Protocol ID: Unknown
    // (1048576)" and nothing further dissected.
    static let livesharkSacn = hex(
        "00 10 00 00 41 53 43 2D 45 31 2E 31 37 00 00 00",
        "00 00 00 00 00 04",
        "01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10",
        "00 00 00 00 00 02",
        "54 65 73 74 20 53 6F 75 72 63 65 00*53",
        "00 00 00 00 00 00 01 00 00 02 00 00 00 00 00 00 00 00"
    )
}

/// Parses the vector notation: hex pairs, whitespace-separated, `XX*N` repeats.
func hex(_ parts: String...) -> [UInt8] {
    var out: [UInt8] = []
    for part in parts {
        for token in part.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let pieces = token.split(separator: "*")
            guard let byte = UInt8(pieces[0], radix: 16) else { fatalError("bad hex token \(token)") }
            let count = pieces.count > 1 ? Int(pieces[1]) ?? 0 : 1
            out.append(contentsOf: repeatElement(byte, count: count))
        }
    }
    return out
}
