/// Log text as applications write it, for the error log's import and grouping tests.
public enum SampleLogs {
    /// A Python traceback whose frames sit at `line` and `line + 30`: the same `line` groups as one issue.
    public static func pythonTraceback(line: Int) -> String {
        """
        Traceback (most recent call last):
          File "/srv/app/api.py", line \(line), in handle
            charge(card)
          File "/srv/app/payments.py", line \(line + 30), in charge
            raise CardDeclined(card)
        payments.CardDeclined: card 4242 declined
        """
    }
}
