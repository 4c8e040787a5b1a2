/// A threshold comparison, as model filters (`training.accuracy > 0.8`) and alert rules write it. Longer
/// operators come first in `allCases`, so a parser that tries them in order finds `>=` before `>`.
public enum Comparison: String, Sendable, Codable, CaseIterable {
    case greaterOrEqual = ">=", lessOrEqual = "<=", greater = ">", less = "<", equal = "="

    /// Whether `value` stands in this relation to `threshold`.
    public func holds(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .greater: value > threshold
        case .greaterOrEqual: value >= threshold
        case .less: value < threshold
        case .lessOrEqual: value <= threshold
        case .equal: value == threshold
        }
    }
}
