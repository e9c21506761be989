// PanelCapture: pcap/pcapng reading and writing, link layers, IPv4/IPv6, UDP and TCP, IP
// fragment and TCP stream reassembly. It knows nothing about LED protocols: it hands UDP
// payloads, TCP stream bytes and non-IP Ethernet frames to the layers above.
//
//   CaptureReader (libpcap; PcapngBlockReader for pcapng with mixed link types)
//     ──CapturedFrame──► PacketParser.parse ──► ParsedPacket (.udp, .tcp, .ethernet,
//                                                .ipFragment, .other, .malformed)
//   CaptureDecoder.run: reader + parser + IPReassembler + TCPReassembler ──► CaptureEvent
//   PcapWriter.write / writeUDP / writeIP ──► pcap file (nanosecond timestamps)
//   PcapngWriter ──► pcapng file with interfaces of several link types
