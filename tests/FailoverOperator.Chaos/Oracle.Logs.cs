using System.Globalization;
using System.Text.RegularExpressions;

namespace FailoverOperator.Chaos;

public static partial class Oracle
{
    public const string LogInvariant = "log";

    /// <summary>
    /// Every critical or error line of the operators' logs, and any "Unhandled", classified. Expected only
    /// during or just after an API outage: a leader's "stepping down" (older operators logged it as
    /// critical and then exited with "the controller stopped; exiting" / leadership lost; today it is a
    /// warning and the process leads again when the API answers). Anything else is a finding.
    /// </summary>
    public static (int Expected, List<Finding> Findings) Logs(IEnumerable<(string Path, string Text)> logs, IReadOnlyList<ApiOutage> outages, TimeSpan renewDeadline)
    {
        var expected = 0;
        var findings = new List<Finding>();
        foreach (var (path, text) in logs)
        {
            var lines = text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                var m = LevelLine().Match(line);
                var unhandled = line.Contains("Unhandled", StringComparison.Ordinal);
                if (!m.Success && !unhandled) continue;
                var next = i + 1 < lines.Length ? lines[i + 1] : "";
                if (m.Success && IsStepDown(line, next) && DuringOutage(m.Groups["time"].Value, outages, renewDeadline))
                {
                    expected++;
                    continue;
                }
                findings.Add(new Finding(LogInvariant, $"{Path.GetFileName(path)}: {line.Trim()}" + (next.StartsWith(' ') || next.StartsWith('\t') ? $" | {next.Trim()}" : "")));
            }
        }
        return (expected, findings);
    }

    private static bool IsStepDown(string line, string next) =>
        line.Contains("crit:", StringComparison.Ordinal) &&
        (line.Contains("stepping down", StringComparison.Ordinal) ||
         (line.Contains("the controller stopped; exiting", StringComparison.Ordinal) && (line + next).Contains("leadership lost", StringComparison.Ordinal)));

    /// <summary>From the outage's start to a renew deadline (plus 5 s of slack for the exit) after the API is back.</summary>
    private static bool DuringOutage(string time, IReadOnlyList<ApiOutage> outages, TimeSpan renewDeadline)
    {
        var of = TimeSpan.ParseExact(time, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
        return outages.Any(o =>
        {
            var at = o.Start.Date + of;
            return at >= o.Start - TimeSpan.FromSeconds(1) && at <= o.End + renewDeadline + TimeSpan.FromSeconds(5);
        });
    }

    [GeneratedRegex(@"^(?<time>\d\d:\d\d:\d\d\.\d{3}) (crit|fail):")]
    private static partial Regex LevelLine();
}
