using System.Threading.Channels;
using FailoverAgent.Fencing;
using FailoverAgent.Kube;
using FailoverAgent.Roles;

namespace FailoverAgent.Hosting;

/// <summary>
/// Runs the fencing machine: one reader feeds it every input (Lease readings, renewal outcomes, the
/// stop request, the clock) in order, and carries out what it decides. Renewals and reads run in
/// the background and come back as inputs, so a slow API call never delays the deadline check;
/// role changes go to the <see cref="RoleWorker"/>, which runs them one after another.
/// </summary>
public sealed class FencingLoop(FencingMachine machine, GroupApi api, RoleWorker roles)
{
    public delegate IReadOnlyList<FencingAction> Input(FencingMachine machine, TimeSpan now);

    private readonly Channel<Input> inputs = Channel.CreateUnbounded<Input>(new UnboundedChannelOptions { SingleReader = true });
    private volatile RoleReport report = new("standby", -1, null, null, null);
    private DateTime lastRenewalWallClock;

    /// <summary>The machine's state after its last step, for /role.</summary>
    public RoleReport Report => report;
    /// <summary>Monotonic time of the loop's last step, for /healthz.</summary>
    public TimeSpan LastStep { get; private set; } = MonotonicClock.Now;

    public void Post(Input input) => inputs.Writer.TryWrite(input);

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var now = MonotonicClock.Now;
            var wait = machine.NextWakeUp(now) - now;
            using (var wake = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                wake.CancelAfter(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                try { await inputs.Reader.WaitToReadAsync(wake.Token); }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested) { }
            }
            while (inputs.Reader.TryRead(out var input)) Execute(input(machine, MonotonicClock.Now));
            Execute(machine.OnTick(MonotonicClock.Now));
            Publish();
        }
    }

    private void Execute(IReadOnlyList<FencingAction> actions)
    {
        foreach (var action in actions)
        {
            switch (action)
            {
                case RenewLease renew: _ = RenewAsync(renew.Basis); break;
                case RefreshLease: _ = RefreshAsync(); break;
                default: roles.Enqueue(action); break;
            }
        }
    }

    private async Task RenewAsync(LeaseSnapshot basis)
    {
        var startedAt = MonotonicClock.Now;
        var startedWallClock = DateTime.UtcNow;
        using var timeout = new CancellationTokenSource(FencingTimings.RequestTimeout(basis.Duration));
        try
        {
            var written = LeaseReading.ToSnapshot(await api.RenewAsync(basis, timeout.Token));
            lastRenewalWallClock = startedWallClock;
            Post((m, now) => m.OnRenewalSucceeded(written, startedAt, now));
        }
        catch (Exception e)
        {
            var conflict = GroupApi.IsConflict(e);
            AgentLog.Warn($"renewal of term {basis.Term} failed{(conflict ? " (the Lease changed since our reading)" : "")}: {LeaseFollower.Describe(e)}");
            Post((m, now) => m.OnRenewalFailed(conflict, now));
        }
    }

    private async Task RefreshAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var lease = await api.GetLeaseAsync(timeout.Token);
            if (lease is null) Post((m, now) => m.OnLeaseDeleted(now));
            else
            {
                var snapshot = LeaseReading.ToSnapshot(lease);
                Post((m, now) => m.OnLeaseObserved(snapshot, now));
            }
        }
        catch (Exception e)
        {
            AgentLog.Warn($"reading the Lease after a refused renewal: {LeaseFollower.Describe(e)}");
        }
    }

    private void Publish()
    {
        LastStep = MonotonicClock.Now;
        var active = machine.Role == AgentRole.Active;
        report = new RoleReport(active ? "active" : "standby", machine.Term, machine.Lease?.Holder,
            active ? lastRenewalWallClock.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'") : null, machine.Lease?.ResourceVersion);
    }
}
