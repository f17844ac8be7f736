using System.Threading.Channels;
using FailoverAgent.Fencing;
using FailoverAgent.Hosting;
using FailoverAgent.Kube;

namespace FailoverAgent.Roles;

/// <summary>
/// Carries out role changes strictly in order — a demotion finishes before its acknowledgement is
/// written, and before any later promotion starts. A demotion cancels a promotion still under way
/// (a promote hook being retried) instead of queueing behind it.
/// </summary>
public sealed class RoleWorker(AgentIdentity identity, IRoleHandler handler, GroupApi api, EventReporter events)
{
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(5);

    // Each promotion is queued with its own token; a demotion queued after it cancels it, whether
    // the promotion is running or still waiting its turn.
    private readonly Channel<(FencingAction Action, CancellationToken Promotion)> work = Channel.CreateUnbounded<(FencingAction, CancellationToken)>();
    private CancellationTokenSource? latestPromotion;
    // Terms whose demotion could not be confirmed (a demote hook failed): acknowledging them would be a false proof.
    private readonly HashSet<long> unconfirmed = [];
    // From a demotion's start to its acknowledgement, the Events wait: the acknowledgement is on the failover's path, they are not.
    private IDisposable? eventsHeld;

    /// <summary>Called from the fencing loop only (one thread).</summary>
    public void Enqueue(FencingAction action)
    {
        if (action is Demote) latestPromotion?.Cancel();
        if (action is Promote) latestPromotion = new CancellationTokenSource();
        work.Writer.TryWrite((action, action is Promote ? latestPromotion!.Token : CancellationToken.None));
    }

    /// <param name="giveUp">Ends retries of the acknowledgement and release (the process is exiting).</param>
    public async Task RunAsync(CancellationToken giveUp)
    {
        try
        {
            await foreach (var (action, promotion) in work.Reader.ReadAllAsync(giveUp)) await RunOneAsync(action, promotion, giveUp);
        }
        catch (OperationCanceledException) when (giveUp.IsCancellationRequested) { }
    }

    private async Task RunOneAsync(FencingAction action, CancellationToken promotion, CancellationToken giveUp)
    {
        switch (action)
        {
            case Promote promote:
                var up = new RoleChange(identity, RoleChange.Active, promote.Reason, promote.Term);
                AgentLog.Info($"PROMOTED to {up}: this pod acts from now on");
                events.Report("Promoted", $"active in term {promote.Term} ({promote.Reason})", warning: false);
                try { await handler.PromoteAsync(up, promotion); }
                catch (OperationCanceledException) when (promotion.IsCancellationRequested) { AgentLog.Warn($"promotion to term {promote.Term} cut short by a demotion"); }
                break;
            case Demote demote:
                eventsHeld ??= events.Hold();
                var down = new RoleChange(identity, RoleChange.Standby, demote.Reason, demote.Term, demote.StopBy);
                AgentLog.Info($"DEMOTING from term {demote.Term} ({demote.Reason})");
                if (!await handler.DemoteAsync(down, CancellationToken.None))
                {
                    unconfirmed.Add(demote.Term);
                    AgentLog.Error($"DEMOTION of term {demote.Term} NOT CONFIRMED: the demote hook did not succeed; no acknowledgement " +
                                   "(the operator waits for the Lease to expire; the term is the application's last line of defence)");
                    events.Report("DemoteFailed", $"the demote hook for term {demote.Term} did not succeed; not acknowledged", warning: true);
                    break;
                }
                AgentLog.Info($"DEMOTED to {down}: this pod no longer acts");
                events.Report("Demoted", $"standby, gave up term {demote.Term} ({demote.Reason})", warning: !down.Planned);
                break;
            case Acknowledge ack when unconfirmed.Contains(ack.Term):
                ReleaseEvents();
                break;
            case Acknowledge ack:
                try
                {
                    if (ack.HandOver is { } writeOne) await HandOverAsync(writeOne, giveUp);
                    await RetryAsync($"acknowledging term {ack.Term}", ct => api.AcknowledgeAsync(ack.Term, ct), int.MaxValue, giveUp);
                    AgentLog.Info($"ACKNOWLEDGED term {ack.Term}: pod annotated {LeaseReading.DemotedTermAnnotationKey}={ack.Term}");
                }
                finally { ReleaseEvents(); }
                break;
            case ReleaseLease release:
                await ReleaseAsync(release.Basis, giveUp);
                break;
            case Drained drained:
                drained.Done.TrySetResult();
                break;
        }
    }

    /// <summary>
    /// One attempt, bounded like a renewal: on success the failover is done but for the new active's label; on
    /// any failure (409: the operator or another writer got there first) the pod annotation that follows is
    /// the acknowledgement, and the operator promotes on it as before.
    /// </summary>
    private async Task HandOverAsync(LeaseSnapshot writeOne, CancellationToken giveUp)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(giveUp);
        timeout.CancelAfter(FencingTimings.RequestTimeout(writeOne.Duration));
        try
        {
            if (await api.HandOverAsync(writeOne, timeout.Token))
            {
                AgentLog.Info($"HANDED OVER the Lease to {writeOne.FencedTo} in term {writeOne.Term + 1} after giving up term {writeOne.Term}");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !giveUp.IsCancellationRequested)
        {
            var why = GroupApi.IsConflict(e) ? "was refused: the Lease changed since write 1" : "failed";
            AgentLog.Warn($"handing the Lease over to {writeOne.FencedTo} (term {writeOne.Term + 1}) {why}; the acknowledgement alone follows: " +
                          LeaseFollower.Describe(e));
        }
    }

    private void ReleaseEvents()
    {
        eventsHeld?.Dispose();
        eventsHeld = null;
    }

    /// <summary>Hands the Lease back; on 409 reads it again and retries while it still names us.</summary>
    private async Task ReleaseAsync(LeaseSnapshot basis, CancellationToken giveUp)
    {
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            try
            {
                await api.ReleaseAsync(basis, RoleReasons.Stopped, giveUp);
                AgentLog.Info($"RELEASED the Lease (term {basis.Term}): holder empty, fencing record names {identity.Pod}");
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !giveUp.IsCancellationRequested)
            {
                AgentLog.Warn($"releasing the Lease (attempt {attempt}): {LeaseFollower.Describe(e)}");
                if (GroupApi.IsConflict(e))
                {
                    // Someone wrote the Lease since our reading: release only what is still ours.
                    var current = await api.GetLeaseAsync(giveUp) is { } lease ? LeaseReading.ToSnapshot(lease) : null;
                    if (current is null || !current.Names(identity.Pod) || current.Term != basis.Term) return;
                    basis = current;
                }
                else await Task.Delay(Backoff(attempt), giveUp);
            }
        }
    }

    private static async Task RetryAsync(string what, Func<CancellationToken, Task> call, int attempts, CancellationToken giveUp)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { await call(giveUp); return; }
            catch (Exception e) when (attempt < attempts && (e is not OperationCanceledException || !giveUp.IsCancellationRequested))
            {
                AgentLog.Warn($"{what} (attempt {attempt}): {LeaseFollower.Describe(e)}; retrying");
                await Task.Delay(Backoff(attempt), giveUp);
            }
        }
    }

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(MaximumBackoff.TotalMilliseconds, 200 * Math.Pow(2, attempt - 1)));
}

/// <summary>Completes once everything queued before it has been carried out (the stop path waits on it).</summary>
public sealed record Drained(TaskCompletionSource Done) : FencingAction;
