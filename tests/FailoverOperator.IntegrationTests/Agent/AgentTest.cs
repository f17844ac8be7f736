using FailoverOperator.Testing;
using System.Text.Json;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>
/// Base of the agent's tests: a Lease and pods of the test's own (no operator: the test writes the
/// Lease as the operator would), agents run as processes, a hook log per test. Agents are killed at
/// the end and their logs shown.
/// </summary>
public abstract class AgentTest(ClusterFixture plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    /// <summary>3 s: renew every 1 s; margin 1 s, so the deadline is 2 s after a renewal's start.</summary>
    protected const int LeaseSeconds = 3;
    protected const string Group = "db";

    private readonly List<AgentProcess> agents = [];
    protected string HookLog { get; } = Path.Combine(Path.GetTempPath(), $"agent-hooks-{Guid.NewGuid():N}.log");

    /// <summary>Appends "ROLE TERM REASON PLANNED POD" to the hook log; the demote hook takes a while, to show the ack waits for it.</summary>
    protected string[] Hooks() =>
    [
        $"--on-promote=echo \"active $FAILOVER_TERM $FAILOVER_REASON $FAILOVER_PLANNED $FAILOVER_POD\" >> {HookLog}",
        $"--on-demote=sleep 0.5; echo \"standby $FAILOVER_TERM $FAILOVER_REASON $FAILOVER_PLANNED $FAILOVER_POD\" >> {HookLog}",
        "--hook-timeout=10s",
    ];

    protected string[] HookLines => File.Exists(HookLog) ? File.ReadAllLines(HookLog) : [];

    protected Task WaitHookAsync(string line, TimeSpan? timeout = null) =>
        Wait.UntilAsync(() => Task.FromResult(HookLines.Contains(line)), timeout ?? Wait.Default, $"hook line \"{line}\"",
            () => Task.FromResult($"hook log: [{string.Join(" | ", HookLines)}]\n{AgentLogs()}"));

    protected AgentProcess StartAgent(string mode, string pod, IEnumerable<string> args, string? kubeconfig = null)
    {
        var agent = new AgentProcess(mode, kubeconfig ?? Plane.KubeconfigPath, Ns, pod, Group, args);
        agents.Add(agent);
        return agent;
    }

    protected async Task<V1Lease> CreateLeaseAsync(string holder, int term, int seconds = LeaseSeconds) =>
        await Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = Group },
            Spec = new V1LeaseSpec
            {
                HolderIdentity = holder, LeaseTransitions = term, LeaseDurationSeconds = seconds,
                AcquireTime = DateTime.UtcNow, RenewTime = DateTime.UtcNow,
            },
        }, Ns);

    /// <summary>The operator's transfer: a new holder in a new term, with its failover record.</summary>
    protected Task<V1Lease> TransferLeaseAsync(string holder, int term, string reason) => UpdateLeaseAsync(lease =>
    {
        lease.Spec.HolderIdentity = holder;
        lease.Spec.LeaseTransitions = term;
        lease.Spec.AcquireTime = DateTime.UtcNow;
        lease.Metadata.Annotations = new Dictionary<string, string>
        {
            ["failover.dev/failover"] = JsonSerializer.Serialize(new { from = "x", to = holder, reason, term }),
        };
    });

    /// <summary>Read, change, replace; again if an agent's renewal came in between (409), as the operator does.</summary>
    protected async Task<V1Lease> UpdateLeaseAsync(Action<V1Lease> change)
    {
        for (var attempt = 1; ; attempt++)
        {
            var lease = (await GetLeaseAsync(Group))!;
            change(lease);
            try { return await Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, Group, Ns); }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict && attempt < 10) { }
        }
    }

    /// <summary>The Lease's term while the pod holds it, once the pod's agent ran its promote hook in it.</summary>
    protected async Task<int> ActiveTermAsync(string pod)
    {
        var lease = (await GetLeaseAsync(Group))!.Spec;
        Assert.Equal(pod, lease.HolderIdentity);
        var term = lease.LeaseTransitions ?? 0;
        await Wait.UntilAsync(() => Task.FromResult(HookLines.Any(l => l.StartsWith($"active {term} ", StringComparison.Ordinal) && l.EndsWith($" {pod}", StringComparison.Ordinal))),
            Wait.Default, $"{pod}'s promote hook in term {term}", () => Task.FromResult(AgentLogs()));
        return term;
    }

    protected async Task<string?> DemotedTermAsync(string pod) =>
        (await Client.CoreV1.ReadNamespacedPodAsync(pod, Ns)).Metadata.Annotations?.TryGetValue("failover.dev/demoted-term", out var term) == true ? term : null;

    protected string AgentLogs() => string.Join("\n", agents.Select(a => $"--- agent {a.Pod} ---\n{a.Log}"));

    public override async Task DisposeAsync()
    {
        // Every agent is killed even if one of them fails to be: none may outlive the test.
        var failures = new List<Exception>();
        foreach (var agent in agents)
        {
            try { await agent.DisposeAsync(); }
            catch (Exception e) { failures.Add(e); }
        }
        Output.WriteLine($"--- hook log ---\n{string.Join("\n", HookLines)}\n{AgentLogs()}");
        try { File.Delete(HookLog); } catch (IOException) { }
        await base.DisposeAsync();
        if (failures.Count > 0) throw new AggregateException("stopping the agents failed", failures);
    }
}
