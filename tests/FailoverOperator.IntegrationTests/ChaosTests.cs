using System.Text.RegularExpressions;
using FailoverOperator.Chaos;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// The chaos suite: a short seeded run of the real thing (its own control plane, two operator replicas,
/// every kind of fault, fewer of each than make chaos), and the oracle shown to fail on planted violations.
/// </summary>
public partial class ChaosTests(ITestOutputHelper output)
{
    /// <summary>About 2 minutes: every kind of fault at least once, at a fixed seed.</summary>
    private static readonly string[] ShortRun =
        ["--seed=11", "--duration=100", "--groups=8", "--failovers=40", "--leader-kills=2", "--api-restarts=1", "--foreign-writes=6", "--converge-within=45"];

    [Fact]
    public async Task AShortStormKeepsEveryInvariant()
    {
        var run = await ProcessRunner.RunAsync("dotnet", [BuiltProgram.Dll("tests/FailoverOperator.Chaos", "FailoverChaos"), .. ShortRun], TimeSpan.FromMinutes(5));
        output.WriteLine(run.Output);

        var summary = SummaryLine().Match(run.Stdout);
        Assert.True(summary.Success, $"no summary line in the output:\n{run.Output}");
        Assert.True(run.ExitCode == 0, $"the chaos run failed ({run.ExitCode}): {summary.Value}\n{run.Output}");
        Assert.Equal("PASS", summary.Groups["result"].Value);
        Assert.True(int.Parse(summary.Groups["failovers"].Value) >= 40, summary.Value);
        Assert.True(int.Parse(summary.Groups["kills"].Value) >= 2, summary.Value);
        Assert.True(int.Parse(summary.Groups["restarts"].Value) >= 1, summary.Value);
        Assert.Contains("split-brain=0 lost-records=0 zombies=0 unconverged=0", summary.Value);
    }

    [Fact]
    public void TheOracleReportsASecondActiveNobodyDeclared()
    {
        var t = DateTime.UtcNow;
        PodRecord[] history = [Pod(t, "g-0", Roles.Active, "10"), Pod(t, "g-1", Roles.Standby, "11"), Pod(t.AddSeconds(1), "g-1", Roles.Active, "12")];

        var undeclared = Oracle.SplitBrain(history, []);
        var declared = Oracle.SplitBrain(history, [new ForeignWrite(t.AddSeconds(1), "g", "g-1", ForeignKind.LabelActive, "12", Declared: true)]);

        Assert.Equal(Oracle.SplitBrainInvariant, Assert.Single(undeclared).Invariant);
        Assert.Contains("g-0, g-1", undeclared[0].Detail);
        Assert.Empty(declared);
    }

    [Fact]
    public void TheOracleAllowsAGroupItsActiveCountAndReportsOneMore()
    {
        var t = DateTime.UtcNow;
        PodRecord[] history = [Pod(t, "g-0", Roles.Active, "10"), Pod(t, "g-1", Roles.Active, "11"), Pod(t.AddSeconds(1), "g-2", Roles.Active, "12")];

        Assert.Empty(Oracle.SplitBrain(history, [], activeCounts: new Dictionary<string, int> { ["g"] = 3 }));
        var over = Assert.Single(Oracle.SplitBrain(history, [], activeCounts: new Dictionary<string, int> { ["g"] = 2 }));
        Assert.Contains("(at most 2 active) has active pods g-0, g-1, g-2", over.Detail);
    }

    [Fact]
    public void TheOracleStopsExcusingAForeignActiveOnceTheOperatorHadTimeToUndoIt()
    {
        var t = DateTime.UtcNow;
        var late = t.AddSeconds(1) + Oracle.ForeignCorrectionBound + TimeSpan.FromSeconds(1);
        PodRecord[] history = [Pod(t, "g-0", Roles.Active, "10"), Pod(t.AddSeconds(1), "g-1", Roles.Active, "12"), Pod(late, "g-0", Roles.Active, "13")];
        ForeignWrite[] foreign = [new(t.AddSeconds(1), "g", "g-1", ForeignKind.LabelActive, "12", Declared: true)];

        Assert.Single(Oracle.SplitBrain(history, foreign));
        Assert.Equal(Oracle.ForeignInvariant, Assert.Single(Oracle.Uncorrected(Oracle.ForeignCorrections(history, foreign))).Invariant);
    }

    [Fact]
    public void TheOracleReportsALongLeaderlessWindowAndTheZombieInIt()
    {
        var t = DateTime.UtcNow;
        var samples = new List<ReplicaSample>();
        for (var ms = 0; ms <= 14000; ms += 250)
        {
            var at = t.AddMilliseconds(ms);
            samples.Add(new ReplicaSample(at, "a", "replica-a-1", Alive: ms < 2000, Health: ms < 2000 ? 200 : null, Leader: ms < 2000 ? true : null));
            samples.Add(new ReplicaSample(at, "b", "replica-b-1", Alive: true, Health: 200, Leader: ms >= 14000));
        }

        var (max, findings) = Oracle.Leadership(samples, [], TimeSpan.FromSeconds(8));
        var (_, duringOutage) = Oracle.Leadership(samples, [new ApiOutage(t, t.AddSeconds(13))], TimeSpan.FromSeconds(8));

        Assert.Equal(TimeSpan.FromSeconds(12), max);
        Assert.Equal([Oracle.LeaderlessInvariant, Oracle.ZombieInvariant], findings.Select(f => f.Invariant));
        Assert.Contains("replica-b-1", findings[1].Detail);
        Assert.Empty(duringOutage);
    }

    [Fact]
    public void ALeaderlessWindowEndsAtTheFirstElectionLeaseWriteEvenWhenTheSamplesLag()
    {
        var t = DateTime.UtcNow;
        var samples = new List<ReplicaSample>();
        for (var ms = 0; ms <= 12000; ms += 250)
        {
            samples.Add(new ReplicaSample(t.AddMilliseconds(ms), "a", "replica-a-1", Alive: ms < 1000, Health: 200, Leader: ms < 1000));
            samples.Add(new ReplicaSample(t.AddMilliseconds(ms), "b", "replica-b-1", Alive: true, Health: 200, Leader: ms >= 12000));
        }
        LeaseRecord[] election = [new(t.AddSeconds(7), Replicas.LeaseName, "replica-b-1", 2, null)];

        var (max, findings) = Oracle.Leadership(samples, [], TimeSpan.FromSeconds(8), election);

        Assert.Equal(TimeSpan.FromSeconds(6), max);
        Assert.Empty(findings);
    }

    [Fact]
    public void TheOracleReportsAFailoverOnTheLeaseThatTheStatusNeverRecorded()
    {
        var status = new HighAvailabilityGroupStatus { FailoverCount = 3, LastFailover = new FailoverRecord { Term = 2 } };
        var t = DateTime.UtcNow;

        Assert.Contains("status.lastFailover.term 2", Convergence.LostRecord(status, transitions: 3, recordTerm: 3));
        Assert.Contains("failoverCount 3 != leaseTransitions 4", Convergence.LostRecord(status, transitions: 4, recordTerm: 4));
        Assert.Null(Convergence.LostRecord(new HighAvailabilityGroupStatus { FailoverCount = 3, LastFailover = new FailoverRecord { Term = 3 } }, 3, 3));
        Assert.Single(Convergence.SkippedRecords([new LeaseRecord(t, "g", "g-1", 3, 3)], [new GroupRecord(t, "g", "g-1", 3, 2)]));
    }

    private static PodRecord Pod(DateTime at, string name, string role, string rv) => new(at, name, "g", role, Ready: true, Gone: false, rv);

    [GeneratedRegex(@"^chaos seed=\d+ failovers=(?<failovers>\d+) leader-kills=(?<kills>\d+) .*api-restarts=(?<restarts>\d+) .* result=(?<result>PASS|FAIL)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();
}
