using System.Runtime.InteropServices;
using FailoverAgent.Fencing;
using FailoverAgent.Kube;
using FailoverAgent.Roles;
using k8s;

namespace FailoverAgent.Hosting;

/// <summary>
/// Wires the agent together and runs it until SIGTERM/SIGINT (or the wrapped command's own exit):
/// then demote if active, acknowledge, release the Lease, exit.
/// </summary>
public sealed class AgentHost
{
    // The stop path (demote, acknowledge, release) must finish within the pod's
    // terminationGracePeriodSeconds (30 s by default) after the wrapped command's grace.
    private static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(15);

    private readonly AgentOptions options;
    private readonly TaskCompletionSource<int> stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AgentHost(AgentOptions options) => this.options = options;

    /// <summary>Ask the agent to stop with this exit code (first request wins).</summary>
    public void RequestStop(int exitCode) => stopRequested.TrySetResult(exitCode);

    /// <param name="demotionLead">How long before the deadline a demotion for lack of renewal begins (run: the grace).</param>
    /// <param name="demotionAllowance">How long a demotion may take on the way out (the grace, or a hook's timeout).</param>
    public async Task<int> RunAsync(Func<EventReporter, IRoleHandler> handlerFactory, TimeSpan demotionLead, TimeSpan demotionAllowance)
    {
        var identity = new AgentIdentity(options.Group, options.Namespace, options.Pod);
        using var client = new Kubernetes(ClientConfiguration());
        var api = new GroupApi(client, identity);
        var events = new EventReporter(api, identity);
        var worker = new RoleWorker(identity, handlerFactory(events), api, events);
        var machine = new FencingMachine(options.Pod, demotionLead);
        var loop = new FencingLoop(machine, api, worker);
        var follower = new LeaseFollower(api, identity, loop, options.Resync);

        using var loops = new CancellationTokenSource();
        using var giveUp = new CancellationTokenSource();
        Task[] core = [];
        // Up before anything else: while the start waits for the API server the agent is alive (healthy).
        using var endpoint = new StatusEndpoint(options.Port, () => UnhealthyReason(loop, core), () => loop.Report);
        endpoint.Start();
        var serving = endpoint.RunAsync(loops.Token);
        if (!await RememberAcknowledgedAsync(api, machine)) return 0;
        core = [Task.Run(() => loop.RunAsync(loops.Token)), Task.Run(() => follower.RunAsync(loops.Token))];
        var background = new[] { Task.Run(() => worker.RunAsync(giveUp.Token)), Task.Run(() => events.RunAsync(giveUp.Token)), serving };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        AgentLog.Info($"following Lease {identity.Namespace}/{identity.Group} as pod {identity.Pod}; status on 127.0.0.1:{options.Port}");

        var first = await Task.WhenAny(stopRequested.Task, Task.WhenAny(core));
        var exitCode = first == stopRequested.Task ? await stopRequested.Task : 1;
        if (first != stopRequested.Task) AgentLog.Error($"a fencing loop ended unexpectedly: {(await Task.WhenAny(core)).Exception?.GetBaseException().Message}");
        await StopAsync(loop, worker, machine, first == stopRequested.Task, demotionAllowance);
        loops.Cancel();
        giveUp.Cancel();
        events.Complete();
        await Task.WhenAll(background).WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { });
        AgentLog.Info($"exiting with code {exitCode}");
        return exitCode;
    }

    /// <summary>
    /// Reads the term this pod last acknowledged before following the Lease (retried until it
    /// succeeds): without it a restarted agent could act again in a term it gave up. And the pod's UID:
    /// only the very pod a fencing record names may hand its Lease over. False when asked to stop first.
    /// </summary>
    private async Task<bool> RememberAcknowledgedAsync(GroupApi api, FencingMachine machine)
    {
        using var registration = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        for (var attempt = 1; !stopRequested.Task.IsCompleted; attempt++)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var (uid, term) = await api.OwnPodAsync(timeout.Token);
                machine.SelfUid = uid;
                machine.RememberAcknowledged(term);
                if (term >= 0) AgentLog.Info($"this pod acknowledged term {term} before: it will not act in that term or an older one");
                return true;
            }
            catch (Exception e)
            {
                AgentLog.Warn($"reading pod {options.Namespace}/{options.Pod} (attempt {attempt}): {LeaseFollower.Describe(e)}");
                await Task.WhenAny(stopRequested.Task, Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt))));
            }
        }
        return false;
    }

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;   // we exit ourselves, after handing over
        AgentLog.Info($"{context.Signal}: stopping (demote if active, acknowledge, release the Lease)");
        RequestStop(0);
    }

    /// <summary>The machine's stop rule, then waits (bounded) until the worker carried out all it queued.</summary>
    private static async Task StopAsync(FencingLoop loop, RoleWorker worker, FencingMachine machine, bool loopAlive, TimeSpan demotionAllowance)
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (loopAlive)
        {
            loop.Post((m, now) => m.OnStop(now));
            loop.Post((_, _) => [new Drained(drained)]);
        }
        else
        {
            // The loop is gone, so nothing renews: stop acting now rather than at the deadline.
            if (machine.Role == AgentRole.Active)
            {
                worker.Enqueue(new Demote(machine.Term, "AgentFailure"));
                worker.Enqueue(new Acknowledge(machine.Term));
            }
            worker.Enqueue(new Drained(drained));
        }
        try { await drained.Task.WaitAsync(StopBudget + demotionAllowance); }
        catch (TimeoutException) { AgentLog.Warn("stopping took too long: exiting without finishing the hand-over"); }
    }

    private static string? UnhealthyReason(FencingLoop loop, Task[] core)
    {
        if (core.Length == 0) return null;   // starting
        if (core.Any(t => t.IsCompleted)) return "a fencing loop has ended";
        var idle = MonotonicClock.Now - loop.LastStep;
        return idle > TimeSpan.FromSeconds(5) ? $"the fencing loop has not run for {idle.TotalSeconds:0.0} s" : null;
    }

    private KubernetesClientConfiguration ClientConfiguration()
    {
        var config = options.Kubeconfig is { } path ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
            : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
            : throw new InvalidOperationException("not in a cluster and no kubeconfig: pass --kubeconfig or set KUBECONFIG");
        // No call may hang for long: the deadline rule is ours, but a stuck acknowledgement is not.
        config.HttpClientTimeout = TimeSpan.FromSeconds(10);
        return config;
    }
}
