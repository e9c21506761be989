// PanelCapture: pcap/pcapng reading and writing through libpcap, link layers, IPv4/IPv6
// and UDP. It knows nothing about LED protocols: it hands UDP payloads and non-IP
// Ethernet frames to the layers above.
//
//   CaptureReader ──CapturedFrame──► PacketParser.parse ──► ParsedPacket (.udp, .ethernet,
//                                                            .ipFragment, .other, .malformed)
//   PcapWriter.write / writeUDP ──► pcap file (nanosecond timestamps)
