import CofferFoundation
import Testing

/// The one error shape: codes match in `catch` clauses across modules' code sets, the message is what a client
/// reads, and the debug text carries the cause and the place without changing the message.
@Suite struct CodedErrorTests {
    struct Code: ErrorCode {
        let description: String
        static let first = Code(description: "first")
        static let second = Code(description: "second")
    }

    struct OtherCode: ErrorCode {
        let description: String
        static let first = OtherCode(description: "first")
    }

    typealias TestError = CodedError<Code>

    @Test func codesMatchOnlyTheirOwnErrorType() {
        let error: any Error = TestError(.first, "what went wrong")
        #expect(Code.first ~= error)
        #expect(!(Code.second ~= error))
        #expect(Code.first.description == "first")
        // A code of another set never matches, even with the same description.
        #expect(!(OtherCode.first ~= error))
        #expect(!(Code.first ~= CodedError<OtherCode>(OtherCode.first, "what went wrong")))
    }

    @Test func catchClausesMatchByCode() {
        func outcome(_ thrown: TestError) -> String {
            do { throw thrown } catch SuiteError.Code.notFound { return "suite" } catch TestError.Code.second { return "second" } catch {
                return "other"
            }
        }
        #expect(outcome(TestError(.second, "")) == "second")
        #expect(outcome(TestError(.first, "")) == "other")
    }

    @Test func messageIsTheDescriptionAndDebugTextAddsCauseAndPlace() {
        let cause = CodedError<OtherCode>(OtherCode.first, "the cause")
        let line = #line + 1
        let error = TestError(.first, "safe message", detail: "SQLSTATE 40001", underlying: cause)
        #expect(error.description == "safe message")
        #expect("\(error)" == "safe message")
        #expect(error.file == #fileID)
        #expect(error.line == line)
        let debug = String(reflecting: error)
        #expect(debug.contains("safe message"))
        #expect(debug.contains("SQLSTATE 40001"))
        #expect(debug.contains("the cause"))
        #expect(debug.contains("\(#fileID):\(line)"))
    }
}
