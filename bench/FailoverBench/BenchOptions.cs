using System.CommandLine;
using System.Globalization;

namespace FailoverBench;

/// <summary>What one benchmark run does; parsed from the command line by <see cref="BenchCommandLine"/>.</summary>
public sealed record BenchOptions
{
    public required string? Kubeconfig { get; init; }
    public required string OperatorDll { get; init; }
    public required int[] Groups { get; init; }
    public required int Failovers { get; init; }
    public required int Warmup { get; init; }
    public required int? Workers { get; init; }
    /// <summary>spec.leaseDurationSeconds of the groups the benchmark creates (null: the CRD default, 15).</summary>
    public required int? LeaseSeconds { get; init; }
    /// <summary>Environment variables for the operator process (experiments, e.g. DOTNET_TieredPGO=0).</summary>
    public required Dictionary<string, string> OperatorEnv { get; init; }
    /// <summary>Seconds after all groups are Healthy before the steady window (start-up JIT tiering settles).</summary>
    public required double SettleSeconds { get; init; }
    public required double SteadySeconds { get; init; }
    public required double BudgetSeconds { get; init; }
    public required int Concurrency { get; init; }
    public required int BurstConcurrency { get; init; }
    public int GroupsPerNamespace { get; init; } = 100;
    public required string ResultsDir { get; init; }
    public required string LogDir { get; init; }
    public required string? PidFile { get; init; }
    public required string Commit { get; init; }
    public required string ClusterDescription { get; init; }
}

/// <summary>The benchmark's command line: each option, its default and its meaning, stated once.</summary>
public static class BenchCommandLine
{
    private static readonly Option<string?> Kubeconfig = new("--kubeconfig") { Description = "the cluster (default: KUBECONFIG, else ~/.kube/config)" };
    private static readonly Option<string> OperatorDll = new("--operator-dll") { Description = "the operator to start (FailoverOperator.dll)", Required = true };
    private static readonly Option<string> Groups = Default("--groups", "100,1000", "mass-failover scales N (comma-separated)");
    private static readonly Option<int> Failovers = Default("--failovers", 50, "single-group failovers (and floor samples)");
    private static readonly Option<int> Warmup = Default("--warmup", 3, "rounds run first and not counted");
    private static readonly Option<int?> Workers = new("--workers") { Description = "passed to the operator (default: the operator's own)" };
    private static readonly Option<double> SteadySeconds = Default("--steady-seconds", 60.0, "steady-state window per scale");
    private static readonly Option<double> SettleSeconds = Default("--settle-seconds", 20.0, "wait after all groups are Healthy before that window (JIT tiering settles)");
    private static readonly Option<string> OperatorEnv = Default("--operator-env", "", "environment variables for the operator process, K=V,... (experiments)");
    private static readonly Option<int?> LeaseSeconds = new("--lease-seconds") { Description = "spec.leaseDurationSeconds of the benchmark's groups (default: the CRD's, 15)" };
    private static readonly Option<double> BudgetSeconds = Default("--budget-seconds", 600.0, "time left for this run; a scale that would not fit is made smaller (and says so)");
    private static readonly Option<int> Concurrency = Default("--concurrency", 16, "requests in flight while creating groups");
    private static readonly Option<int> BurstConcurrency = Default("--burst-concurrency", 64, "failure writes in flight during the mass failover burst");
    private static readonly Option<string> ResultsDir = Default("--results-dir", "bench/results", "where the JSON results go");
    private static readonly Option<string> LogDir = Default("--log-dir", ".local/bench", "where the operator logs go");
    private static readonly Option<string?> PidFile = new("--pid-file") { Description = "where the running operator's PID is kept" };
    private static readonly Option<string> Commit = Default("--commit", "unknown", "operator commit, for the report");
    private static readonly Option<string> ClusterText = Default("--cluster", "the cluster in the kubeconfig", "what the cluster is, for the report");

    public static RootCommand Build(Func<BenchOptions, Task<int>> run)
    {
        var command = new RootCommand("""
            FailoverBench: the failover benchmark of the Failover Operator (make bench; hack/bench.sh does all of it).
            The floor, single-group failover latency, mass failover at N groups and the operator's cost.
            """)
        {
            Kubeconfig, OperatorDll, Groups, Failovers, Warmup, Workers, SteadySeconds, SettleSeconds, OperatorEnv, LeaseSeconds,
            BudgetSeconds, Concurrency, BurstConcurrency, ResultsDir, LogDir, PidFile, Commit, ClusterText,
        };
        Failovers.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--failovers must be positive"); });
        Groups.Validators.Add(r =>
        {
            if (ParseGroups(r.GetValueOrDefault<string>()) is not { } g || g.Any(n => n < 1)) r.AddError("--groups: expected positive whole numbers, comma-separated");
        });
        command.SetAction((r, _) => run(From(r)));
        return command;
    }

    private static BenchOptions From(ParseResult r) => new()
    {
        Kubeconfig = r.GetValue(Kubeconfig),
        OperatorDll = Path.GetFullPath(r.GetValue(OperatorDll)!),
        Groups = ParseGroups(r.GetValue(Groups)!)!,
        Failovers = r.GetValue(Failovers),
        Warmup = r.GetValue(Warmup),
        Workers = r.GetValue(Workers),
        LeaseSeconds = r.GetValue(LeaseSeconds),
        OperatorEnv = r.GetValue(OperatorEnv)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
        SettleSeconds = r.GetValue(SettleSeconds),
        SteadySeconds = r.GetValue(SteadySeconds),
        BudgetSeconds = r.GetValue(BudgetSeconds),
        Concurrency = r.GetValue(Concurrency),
        BurstConcurrency = r.GetValue(BurstConcurrency),
        ResultsDir = r.GetValue(ResultsDir)!,
        LogDir = r.GetValue(LogDir)!,
        PidFile = r.GetValue(PidFile),
        Commit = r.GetValue(Commit)!,
        ClusterDescription = r.GetValue(ClusterText)!,
    };

    private static int[]? ParseGroups(string? text)
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var numbers = parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : (int?)null).ToArray();
        return numbers.Length > 0 && numbers.All(n => n is not null) ? numbers.Select(n => n!.Value).ToArray() : null;
    }

    private static Option<T> Default<T>(string name, T value, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };
}
