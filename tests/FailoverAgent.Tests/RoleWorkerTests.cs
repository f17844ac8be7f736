using FailoverAgent.Fencing;
using FailoverAgent.Kube;
using FailoverAgent.Roles;

namespace FailoverAgent.Tests;

/// <summary>The order of role changes: a demotion is never stuck behind a promotion.</summary>
public sealed class RoleWorkerTests
{
    /// <summary>A promotion that takes forever unless cancelled (a promote hook being retried); records what ran.</summary>
    private sealed class SlowPromotion : IRoleHandler
    {
        public List<string> Calls { get; } = [];

        public async Task PromoteAsync(RoleChange change, CancellationToken cancel)
        {
            lock (Calls) Calls.Add($"promote {change.Term}");
            try { await Task.Delay(Timeout.Infinite, cancel); }
            finally { lock (Calls) Calls.Add($"promote {change.Term} ended"); }
        }

        public Task<bool> DemoteAsync(RoleChange change, CancellationToken cancel)
        {
            lock (Calls) Calls.Add($"demote {change.Term}");
            return Task.FromResult(true);
        }
    }

    private static readonly AgentIdentity Identity = new("g", "ns", "pod-a");

    private static RoleWorker Worker(IRoleHandler handler)
    {
        // Nothing here reaches the API server (no acknowledgement or release is queued; Events only queue).
        var api = new GroupApi(new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:9" }), Identity);
        return new RoleWorker(Identity, handler, api, new EventReporter(api, Identity));
    }

    [Fact]
    public async Task A_demotion_queued_behind_a_promotion_that_has_not_started_yet_cancels_it()
    {
        var handler = new SlowPromotion();
        var worker = Worker(handler);
        var drained = new TaskCompletionSource();
        worker.Enqueue(new Promote(3, "Assigned"));
        worker.Enqueue(new Demote(3, "NotReady"));
        worker.Enqueue(new Drained(drained));

        using var giveUp = new CancellationTokenSource();
        var running = worker.RunAsync(giveUp.Token);
        await drained.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["promote 3", "promote 3 ended", "demote 3"], handler.Calls);
        giveUp.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_demotion_cuts_a_running_promotion_short_and_a_later_promotion_runs_again()
    {
        var handler = new SlowPromotion();
        var worker = Worker(handler);
        using var giveUp = new CancellationTokenSource();
        var running = worker.RunAsync(giveUp.Token);
        worker.Enqueue(new Promote(3, "Assigned"));
        await WaitForAsync(() => handler.Calls.Contains("promote 3"));

        worker.Enqueue(new Demote(3, "NotReady"));
        worker.Enqueue(new Promote(5, "Switchover"));
        await WaitForAsync(() => handler.Calls.Contains("promote 5"));

        Assert.Equal(["promote 3", "promote 3 ended", "demote 3", "promote 5"], handler.Calls);
        worker.Enqueue(new Demote(5, "Stopped"));   // ends promotion 5, so the worker can stop
        giveUp.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition()) await Task.Delay(10, deadline.Token);
    }
}
