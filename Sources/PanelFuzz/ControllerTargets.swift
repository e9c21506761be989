import PanelCore
import PanelDevice
import PanelWire

/// The PC side of NovaStar (`send --protocol novastar`): what a card, or anything on the line,
/// answers is untrusted input too.
enum ControllerTargets {
    /// Every kind of command, and a read of every named register and of a raw one.
    static let commands: [NovaStarCommand] = [.input(0x05), .brightness(0x80), .testPattern(0x05), .blackout(true), .blackout(false)]
        + NovaStarRead.named.map { .read(NovaStarRead(register: $0.register, length: $0.length, name: $0.name)) }
        + [.read(NovaStarRead(register: NovaStarRegister(NovaStar.DeviceType.receivingCard, 0x0200_0000), length: 5, port: 1, card: 2))]

    /// The input is the line's bytes in pieces with a 2-byte length prefix (as `FuzzTargets.feed`);
    /// before each piece the controller may write its next request, after it time passes
    /// (piece length × 1 ms, the timeout 50 ms); an empty piece ends the line.
    static func novaStarController(_ b: UnsafeRawBufferPointer) {
        var controller = NovaStarController(commands: commands, timeout: Timestamp(nanoseconds: 50_000_000))
        var offset = 0
        var t: Int64 = 0
        while offset + 2 <= b.count, !controller.isDone {
            let n = Int(b[offset]) << 8 | Int(b[offset + 1])
            let start = offset + 2
            let end = min(b.count, start + n)
            _ = controller.nextRequest(at: Timestamp(nanoseconds: t))
            if n == 0 {
                controller.ended("line closed")
            } else {
                controller.receive(UnsafeRawBufferPointer(rebasing: b[start..<end]), at: Timestamp(nanoseconds: t))
            }
            t += Int64(n) * 1_000_000
            controller.tick(at: Timestamp(nanoseconds: t))
            offset = end
        }
        controller.ended("input ended")
        FramerTargets.expect(controller.isDone, "NovaStarController not done after the line ended")
        for e in controller.exchanges { _ = e.line; _ = e.decoded }
        _ = controller.failure
    }
}
