using FailoverOperator.Testing;
using FailoverOperator.IntegrationTests.Infrastructure;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>Hook failures as the pod's Events and the agent's acknowledgement show them.</summary>
[Collection(ControlPlaneCollection.Name)]
public class AgentHookTests(ControlPlane plane, ITestOutputHelper output) : AgentTest(plane, output)
{
    [Fact]
    public async Task AFailingPromoteHookIsRetriedAndEachRunIsAnEvent()
    {
        await CreatePodsAsync("db", 1);
        await CreateLeaseAsync("db-0", term: 3);
        StartAgent("sidecar", "db-0", ["--on-promote=[ \"$FAILOVER_HOOK_ATTEMPT\" = 2 ] || exit 1", "--hook-backoff=100ms"]);

        await Wait.UntilAsync(async () => (await EventsAsync("HookSucceeded")).Any(e => e.Message.Contains("term 3, attempt 2/5")), Wait.Default,
            "the second run's HookSucceeded Event", () => Task.FromResult(AgentLogs()));
        var failed = Assert.Single(await EventsAsync("HookFailed"));
        Assert.Equal(("Warning", "db-0"), (failed.Type, failed.InvolvedObject.Name));
        Assert.StartsWith("on-promote failed: exit code 1, term 3, attempt 1/5; will retry", failed.Message);
    }

    [Fact]
    public async Task ADemoteHookThatGivesUpIsReportedAndNotAcknowledged()
    {
        await CreatePodsAsync("db", 2);
        await CreateLeaseAsync("db-0", term: 3);
        var agent = StartAgent("sidecar", "db-0", [$"--on-promote=echo active >> {HookLog}", "--on-demote=echo cannot stop >&2; exit 2"]);
        await WaitHookAsync("active");

        await TransferLeaseAsync("db-1", term: 4, reason: "NotReady");
        await Wait.UntilAsync(async () => (await EventsAsync("DemoteFailed")).Count == 1, Wait.Default, "a DemoteFailed Event",
            () => Task.FromResult(agent.Log));
        Assert.Equal(0, await agent.StopGracefullyAsync(TimeSpan.FromSeconds(30)));   // everything it queued is done

        var failed = Assert.Single(await EventsAsync("HookFailed"));
        Assert.StartsWith("on-demote failed: exit code 2, term 3, attempt 1/5; giving up", failed.Message);
        Assert.Contains("output: cannot stop", agent.Log);
        Assert.Null(await DemotedTermAsync("db-0"));   // no acknowledgement it could not stand behind
    }
}
