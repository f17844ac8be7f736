using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace FailoverOperator.Testing;

public sealed partial class OperatorProcess
{
    private static readonly HttpClient Scraper = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task<string> MetricsAsync() => Scraper.GetStringAsync($"http://127.0.0.1:{MetricsPort}/metrics");

    /// <summary>The value of one sample (name with its labels, as exposed) or null when absent.</summary>
    public async Task<double?> MetricAsync(string sample) =>
        (await ScrapeAsync()).Series.TryGetValue(sample, out var value) ? value : null;

    public async Task<bool> IsLeaderAsync() => await MetricAsync("failover_operator_leader") == 1;

    /// <summary>All failover_operator_* series of /metrics, keyed by name and labels as printed.</summary>
    public async Task<OperatorMetrics> ScrapeAsync()
    {
        var text = await MetricsAsync();
        var series = new Dictionary<string, double>();
        foreach (Match m in SeriesLine().Matches(text))
        {
            series[m.Groups["series"].Value] = double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return new OperatorMetrics(series);
    }

    /// <summary>failover_operator_api_requests_total by "VERB code".</summary>
    public async Task<Dictionary<string, double>> ApiRequestsAsync() => (await ScrapeAsync()).ApiRequests();

    [GeneratedRegex(@"^(?<series>failover_operator_[a-z_]+(\{[^}]*\})?) (?<value>[0-9.eE+-]+|NaN)\r?$", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();

    /// <summary>RSS, peak RSS (VmHWM) and user+system CPU of the operator process, from /proc.</summary>
    public ProcSample Sample()
    {
        var status = File.ReadAllLines($"/proc/{Pid}/status");
        long Kb(string key) => long.Parse(status.First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        // Fields after the command name (which may contain spaces) start at state; utime and stime are fields 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return new ProcSample(Stopwatch.GetTimestamp(), Kb("VmRSS") / 1024.0, Kb("VmHWM") / 1024.0, ticks / (double)ClockTicksPerSecond,
            Kb("RssAnon") / 1024.0, Kb("RssFile") / 1024.0, Kb("RssShmem") / 1024.0);
    }

    private static readonly long ClockTicksPerSecond = SysConf(2) is var t and > 0 ? t : 100; // _SC_CLK_TCK

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);
}

/// <summary>The operator's failover_operator_* series.</summary>
public sealed partial record OperatorMetrics(IReadOnlyDictionary<string, double> Series)
{
    public Dictionary<string, double> ApiRequests()
    {
        var result = new Dictionary<string, double>();
        foreach (var (key, value) in Series)
        {
            if (!key.StartsWith("failover_operator_api_requests_total{", StringComparison.Ordinal)) continue;
            result[$"{VerbLabel().Match(key).Groups[1].Value} {CodeLabel().Match(key).Groups[1].Value}"] = value;
        }
        return result;
    }

    /// <summary>Sum of the series whose name (and labels) start with <paramref name="prefix"/>.</summary>
    public double Sum(string prefix) => Series.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    [GeneratedRegex("verb=\"([^\"]*)\"")]
    private static partial Regex VerbLabel();

    [GeneratedRegex("code=\"([^\"]*)\"")]
    private static partial Regex CodeLabel();
}

/// <summary>RSS split as the kernel counts it: anonymous (heaps), file-backed (mapped assemblies and
/// libraries, shareable) and shared memory (.NET's W^X double mapping of JIT-compiled code).</summary>
public sealed record ProcSample(long At, double RssMb, double PeakRssMb, double CpuSeconds, double AnonMb, double FileMb, double ShmemMb);
