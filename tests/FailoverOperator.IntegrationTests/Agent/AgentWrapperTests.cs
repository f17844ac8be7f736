using FailoverOperator.Testing;
using System.Diagnostics;
using FailoverOperator.IntegrationTests.Infrastructure;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>`failover-agent run -- CMD`: CMD runs only while the pod is active, and is stopped by the term's deadline.</summary>
[Collection(ControlPlaneCollection.Name)]
public class AgentWrapperTests(ControlPlane plane, ITestOutputHelper output) : AgentTest(plane, output)
{
    // 6 s: run mode starts a demotion for lack of renewal a lead before the deadline (here 1.8 s:
    // 3 s after a renewal's start); with a 3 s lease the renewals would have only 0.5 s.
    private const int WrapperLeaseSeconds = 6;

    /// <summary>CMD: notes "started TERM" / "stopped TERM" (on SIGTERM) in the hook log, and runs until stopped.</summary>
    private string[] Wrapped(string grace = "5s") =>
    [
        $"--grace={grace}", "--", "/bin/sh", "-c",
        $"echo \"started $FAILOVER_TERM\" >> {HookLog}; trap 'echo \"stopped $FAILOVER_TERM\" >> {HookLog}; exit 0' TERM; while true; do sleep 0.1; done",
    ];

    [Fact]
    public async Task TheWrappedCommandRunsOnlyWhileThePodIsActive()
    {
        await CreatePodsAsync("db", 2);
        var standbyLease = await CreateLeaseAsync("db-1", term: 4, seconds: WrapperLeaseSeconds);
        var agent = StartAgent("run", "db-0", Wrapped());
        await agent.WaitObservedAsync(standbyLease.Metadata.ResourceVersion, "the agent to read the Lease naming db-1");
        Assert.Empty(HookLines);   // not the holder: CMD not started

        await TransferLeaseAsync("db-0", term: 5, reason: "NotReady");
        await WaitHookAsync("started 5");
        await TransferLeaseAsync("db-1", term: 6, reason: "Switchover");
        await WaitHookAsync("stopped 5");
        await Wait.UntilAsync(async () => await DemotedTermAsync("db-0") == "5", Wait.Default, "db-0 annotated demoted-term=5");

        Assert.Equal(["started 5", "stopped 5"], HookLines);
        Assert.Contains("DEMOTED to standby (term 5, reason Switchover, planned)", agent.Log);
    }

    [Fact]
    public async Task CutOffFromTheApiServerTheWrappedCommandIsStoppedBeforeTheDeadline()
    {
        await CreatePodsAsync("db", 1);
        await CreateLeaseAsync("db-0", term: 2, seconds: WrapperLeaseSeconds);
        var (proxy, kubeconfig) = StartProxy();
        var agent = StartAgent("run", "db-0", Wrapped(grace: "30s"), kubeconfig);
        await WaitHookAsync("started 2");

        proxy.Cut();
        var cut = Stopwatch.StartNew();
        await WaitHookAsync("stopped 2");
        await Wait.UntilAsync(() => Task.FromResult(agent.Log.Contains("stopped (exit code")), Wait.Default, "CMD to have exited",
            () => Task.FromResult(agent.Log));
        // Deadline: the last renewal's start (before the cut) + 6 s − 1.2 s margin. The 30 s grace was cut to fit before it.
        Output.WriteLine($"CMD stopped {cut.Elapsed.TotalSeconds:0.00} s after the cut");
        Assert.True(cut.Elapsed < TimeSpan.FromSeconds(WrapperLeaseSeconds - 1.2), $"CMD stopped {cut.Elapsed.TotalSeconds:0.00} s after the cut");
        Assert.Contains("DEMOTING from term 2 (RenewalDeadlinePassed)", agent.Log);
    }
}
