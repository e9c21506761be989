import Foundation
import NIOCore
import PanelCore
import PanelDevice
import PanelNet

/// Serving raw Ethernet controllers (Colorlight receiving cards): each controller captures on
/// its named interface with libpcap, filtered on the protocol's addresses, on a thread of
/// the listener's; frames reach the model on the session's event loop like every datagram,
/// and replies (whole frames) are injected on the same interface.
extension ServeSession {
    /// What a raw Ethernet controller captures: frames from the sending card or to the
    /// receiving cards (its own replies, from the cards to the sender, are left out).
    static let ethernetFilter = "ether src 22:22:33:44:55:66 or ether dst 11:22:33:44:55:66"

    /// Opens every raw Ethernet controller's interface and starts capturing.
    func openEthernetPorts() async throws {
        for p in ports {
            let c = p.controllers[0]
            guard case let .interface(name) = c.config.transport else { continue }
            let listener: RawEthernetListener
            do { listener = try RawEthernetListener(interface: name, filter: Self.ethernetFilter) } catch {
                throw RunFailure("\(c.config.name): \(error)")
            }
            try await loop.submit { p.ethernet = listener }.get()
            listener.startReading(on: loop) { [self] frame, at in
                let now = Timestamp(nanoseconds: Int64(truncatingIfNeeded: at.uptimeNanoseconds))
                if epoch == nil { epoch = now }
                let source = PacketSource(address: Self.macText(frame), port: 0)
                frame.withUnsafeBytes { raw in
                    for c in p.controllers where c.config.plugin.detect(raw) { c.model.receive(raw, from: source, at: now) }
                }
                drain(p)
            }
            logger.info("\(c.config.name): \(p.plugin.displayName) on interface \(name), capture filter \(Self.ethernetFilter)")
        }
    }

    /// The source address of a frame (bytes 6–11) as text.
    static func macText(_ frame: [UInt8]) -> String {
        guard frame.count >= 12 else { return "?" }
        return frame[6..<12].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// Injects a model's replies (whole frames) on its interface; refused frames are logged.
    func writeEthernetReplies(_ replies: [DeviceReply], port p: Port) {
        guard let link = p.ethernet else { return }
        for r in replies {
            let failure: RawEthernetError? = r.bytes.withUnsafeBytes { raw in
                do throws(RawEthernetError) { try link.send(raw); return nil } catch { return error }
            }
            if let failure { logger.warning("\(p.controllers[0].config.name): reply not sent: \(failure)") }
        }
    }

    /// The ready file's entries for a raw Ethernet controller: transport "ethernet", the interface.
    func ethernetReadyEntries(_ p: Port, _ link: RawEthernetListener) -> [JSONValue] {
        p.controllers.map { c in
            .object(["controller": .string(c.config.name), "protocol": .string(c.config.plugin.name),
                     "transport": .string("ethernet"), "interface": .string(link.interface)])
        }
    }

    /// Stops every capture; returns the kernel drops per interface.
    func closeEthernetPorts() async -> [String: Int] {
        let links = (try? await loop.submit { self.ports.compactMap(\.ethernet) }.get()) ?? []
        var drops: [String: Int] = [:]
        for l in links {
            if let d = l.kernelDrops() { drops[l.interface] = d }
            l.close()
        }
        return drops
    }
}
