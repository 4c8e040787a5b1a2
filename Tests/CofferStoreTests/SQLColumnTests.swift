import CofferStore
import Testing

/// A column's position is read from the case's stored index (``SQLColumn/position``): it must be the case's place
/// in `allCases`, whatever the enum's size and raw values.
struct SQLColumnTests {
    enum One: String, SQLColumn { case only = "x" }
    enum Two: String, SQLColumn { case b = "a", a = "b" }
    enum Many: String, SQLColumn {
        case c00 = "z", c01, c02, c03, c04, c05, c06, c07, c08, c09, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19
        case c20, c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31, c32, c33, c34, c35, c36, c37, c38, c39 = "a"
    }

    @Test func positionIsThePlaceAmongTheCases() {
        #expect(One.only.position == 0)
        #expect(Two.allCases.map(\.position) == [0, 1])
        #expect(Many.allCases.map(\.position) == Array(0..<40))
        #expect(Many.c39.position == 39 && Many(rawValue: "a")?.position == 39)
        #expect(Many.selectList.hasPrefix("z, c01, c02") && Many.selectList.hasSuffix("c38, a"))
    }
}
