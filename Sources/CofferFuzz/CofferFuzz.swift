import CofferFuzzing
import Foundation

#if COFFER_LIBFUZZER
    // Built by `make fuzz` with -sanitize=fuzzer,address: the program's entry (which SwiftPM links as
    // `CofferFuzz_main`, so libFuzzer's own `main` cannot be used) hands control to libFuzzer's driver, which calls
    // `fuzzOneInput` for every input. The target is chosen once, from COFFER_FUZZ_TARGET.

    @_silgen_name("LLVMFuzzerRunDriver")
    private func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @_cdecl("CofferFuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
    }

    private let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["COFFER_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget.named(name) else {
            FileHandle.standardError.write(
                Data("COFFER_FUZZ_TARGET must name a target: \(FuzzTarget.all.map(\.name).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }()

    /// libFuzzer's start-up hook: checks the target name before the first input, and writes the target's seeds
    /// (built-in, and its repository folders under COFFER_FUZZ_ROOT) into COFFER_FUZZ_SEED_DIR when that is set
    /// (make fuzz gives that folder to libFuzzer as a corpus).
    @_cdecl("LLVMFuzzerInitialize")
    public func fuzzInitialize(
        _ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
    ) -> CInt {
        let environment = ProcessInfo.processInfo.environment
        guard let folder = environment["COFFER_FUZZ_SEED_DIR"] else {
            _ = selected
            return 0
        }
        let root = URL(fileURLWithPath: environment["COFFER_FUZZ_ROOT"] ?? FileManager.default.currentDirectoryPath)
        do {
            try writeSeeds(of: selected, root: root, into: folder)
        } catch {
            FileHandle.standardError.write(Data("cannot write the seeds of \(selected.name): \(error)\n".utf8))
            exit(2)
        }
        return 0
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let input = data.map { Data(bytes: $0, count: size) } ?? Data()
        do { try selected.run(input) } catch {
            // A failed property is a crash to libFuzzer: it saves the input and stops.
            fatalError("\(selected.name): \(error)")
        }
        return 0
    }
#else
    /// `coffer-fuzz`: lists the fuzz targets, writes a target's built-in seeds, or replays inputs through a target
    /// without libFuzzer (to reproduce a saved crash under a debugger).
    @main
    struct CofferFuzz {
        static func main() {
            let arguments = Array(CommandLine.arguments.dropFirst())
            switch arguments.first {
            case "--list":
                for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
            case "--seeds" where arguments.count == 3:
                guard let target = FuzzTarget.named(arguments[1]) else { fail("no target \(arguments[1])") }
                let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                do { try writeSeeds(of: target, root: root, into: arguments[2]) } catch { fail("\(error)") }
            case let name? where arguments.count >= 2:
                guard let target = FuzzTarget.named(name) else { fail("no target \(name)") }
                var failed = false
                for path in arguments.dropFirst() {
                    guard let input = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
                    do { try target.run(input) } catch {
                        print("\(path): \(error)")
                        failed = true
                    }
                }
                exit(failed ? 1 : 0)
            default:
                fail("usage: coffer-fuzz --list | --seeds TARGET DIR (from the repository root) | TARGET FILE…")
            }
        }

        static func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(2)
        }
    }
#endif

/// Writes `target`'s seeds into `folder`, one file each, named after the seed with '/' made '-'.
func writeSeeds(of target: FuzzTarget, root: URL, into folder: String) throws {
    for seed in try target.seedInputs(repositoryRoot: root) {
        let path = "\(folder)/\(seed.name.replacingOccurrences(of: "/", with: "-"))"
        try seed.data.write(to: URL(fileURLWithPath: path))
    }
}
