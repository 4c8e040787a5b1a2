#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CofferCrypto

/// Reads a secret (an unseal share, a passphrase) from the terminal without echo, or from standard
/// input when it is not a terminal, never from the command line, which `ps` and shell history show.
enum SecretInput {
    /// One line, without its newline. The caller wipes the result with `Wipe.bytes`.
    static func readLine(prompt: String) throws -> [UInt8] {
        let terminal = isatty(STDIN_FILENO) == 1
        var saved = termios()
        if terminal {
            writeToTerminal(prompt)
            tcgetattr(STDIN_FILENO, &saved)
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        defer {
            if terminal {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                writeToTerminal("\n")
            }
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(STDIN_FILENO, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty else { throw ClientError("nothing was entered") }
        return line
    }

    /// The prompt goes to standard error, so that standard output stays the command's result.
    private static func writeToTerminal(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(STDERR_FILENO, &bytes, bytes.count)
    }
}
