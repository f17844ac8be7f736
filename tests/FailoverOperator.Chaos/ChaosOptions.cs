using System.CommandLine;
using FailoverOperator.Testing;

namespace FailoverOperator.Chaos;

/// <summary>One chaos run; parsed from the command line by <see cref="ChaosCommandLine"/>.</summary>
public sealed record ChaosOptions
{
    public required int Seed { get; init; }
    /// <summary>The storm stops at this time even when the counts below are not reached (the run then fails).</summary>
    public required TimeSpan Duration { get; init; }
    public required int Groups { get; init; }
    public required int MinPods { get; init; }
    public required int MaxPods { get; init; }
    public required int Failovers { get; init; }
    public required int LeaderKills { get; init; }
    public required int ApiRestarts { get; init; }
    public required int ForeignWrites { get; init; }
    public required TimeSpan LeaderLease { get; init; }
    public required TimeSpan ConvergeWithin { get; init; }
    public required string? Inject { get; init; }
    public required string RunDir { get; init; }

    /// <summary>The longest tolerated time without a leading replica (outside API outages): the lease plus 2 s.</summary>
    public TimeSpan LeaderlessBound => LeaderLease + TimeSpan.FromSeconds(2);

    /// <summary>The command line that replays this run.</summary>
    public string Replay => $"--seed={Seed} --duration={Duration.TotalSeconds:0} --groups={Groups} --failovers={Failovers} " +
                            $"--leader-kills={LeaderKills} --api-restarts={ApiRestarts} --foreign-writes={ForeignWrites}" + (Inject is null ? "" : $" --inject={Inject}");
}

/// <summary>The chaos program's command line: each option, its default and its meaning, stated once.</summary>
public static class ChaosCommandLine
{
    public const string DoubleActive = "double-active";

    private static readonly Option<int> Seed = Default("--seed", 1234, "seed of the storm's random choices: the same seed replays the same storm");
    private static readonly Option<int> DurationSeconds = Default("--duration", 480, "upper bound of the storm in seconds (it ends earlier once every count below is reached)");
    private static readonly Option<int> Groups = Default("--groups", 20, "HighAvailabilityGroups");
    private static readonly Option<int> MinPods = Default("--min-pods", 3, "fewest member pods per group");
    private static readonly Option<int> MaxPods = Default("--max-pods", 4, "most member pods per group");
    private static readonly Option<int> Failovers = Default("--failovers", 200, "failovers (Lease transitions) to reach");
    private static readonly Option<int> LeaderKills = Default("--leader-kills", 8, "leader kills (kill -9 or SIGTERM, right after triggering failures)");
    private static readonly Option<int> ApiRestarts = Default("--api-restarts", 3, "kube-apiserver restarts");
    private static readonly Option<int> ForeignWrites = Default("--foreign-writes", 20, "foreign writes to role labels and group Leases");
    private static readonly Option<int> LeaderLeaseSeconds = Default("--leader-lease", 6, "the operator's --leader-election-lease-seconds");
    private static readonly Option<int> ConvergeSeconds = Default("--converge-within", 60, "after the storm, every group must converge within this many seconds");
    private static readonly Option<string?> Inject = new Option<string?>("--inject")
    { Description = $"plant a fault the oracle must report ({DoubleActive}: a second active label the oracle is not told about)" }.AcceptOnlyFromAmong(DoubleActive);
    private static readonly Option<string?> RunDir = new("--run-dir")
    { Description = "where the control plane, the operator logs and the findings go (default: TMPDIR/failover-chaos-PID; the last runs' logs are kept)" };

    public static RootCommand Build(Func<ChaosOptions, Task<int>> run)
    {
        var command = new RootCommand("""
            FailoverChaos: the Failover Operator's chaos suite (make chaos). Starts its own control plane and two
            operator replicas, storms them with seeded faults, and checks the invariants over the watch history.
            """)
        {
            Seed, DurationSeconds, Groups, MinPods, MaxPods, Failovers, LeaderKills, ApiRestarts, ForeignWrites,
            LeaderLeaseSeconds, ConvergeSeconds, Inject, RunDir,
        };
        foreach (var option in new[] { DurationSeconds, Groups, MinPods, LeaderLeaseSeconds, ConvergeSeconds })
        {
            option.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError($"{option.Name} must be positive"); });
        }
        command.SetAction((r, _) =>
        {
            var options = From(r);
            if (options.MinPods >= 2 && options.MaxPods >= options.MinPods) return run(options);
            Console.Error.WriteLine("FailoverChaos: --min-pods must be at least 2 and at most --max-pods");
            return Task.FromResult(2);
        });
        return command;
    }

    private static ChaosOptions From(ParseResult r) => new()
    {
        Seed = r.GetValue(Seed),
        Duration = TimeSpan.FromSeconds(r.GetValue(DurationSeconds)),
        Groups = r.GetValue(Groups),
        MinPods = r.GetValue(MinPods),
        MaxPods = r.GetValue(MaxPods),
        Failovers = r.GetValue(Failovers),
        LeaderKills = r.GetValue(LeaderKills),
        ApiRestarts = r.GetValue(ApiRestarts),
        ForeignWrites = r.GetValue(ForeignWrites),
        LeaderLease = TimeSpan.FromSeconds(r.GetValue(LeaderLeaseSeconds)),
        ConvergeWithin = TimeSpan.FromSeconds(r.GetValue(ConvergeSeconds)),
        Inject = r.GetValue(Inject),
        RunDir = r.GetValue(RunDir) is { } dir ? Path.GetFullPath(dir) : RunDirectories.ForThisRun("failover-chaos"),
    };

    private static Option<T> Default<T>(string name, T value, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };
}
