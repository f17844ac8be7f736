using System.Net;
using System.Runtime.ExceptionServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Runtime;

/// <summary>Why a term of leadership ended.</summary>
public enum LeadershipEnd
{
    /// <summary>The process is stopping: the work drained and the Lease was released.</summary>
    Stopped,

    /// <summary>No renewal succeeded within the renew deadline (the API server was unreachable): the work
    /// stopped, the record may still name this instance, and it may take its own Lease back once it can.</summary>
    RenewalsFailed,

    /// <summary>Another instance holds the Lease: it may already act, so this one must not.</summary>
    TakenByAnother,
}

public sealed record LeaderElectionOptions(string Namespace, string LeaseName, string Identity, TimeSpan LeaseDuration)
{
    /// <summary>A leader that could not renew for this long steps down (client-go: RenewDeadline).</summary>
    public TimeSpan RenewDeadline => LeaseDuration * 2 / 3;

    /// <summary>How often a leader renews: several tries fit in the renew deadline.</summary>
    public TimeSpan RenewInterval => LeaseDuration / 5;

    /// <summary>How often a standby looks, and a failed attempt is retried: a released Lease is taken within this.</summary>
    public TimeSpan RetryPeriod => TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, (LeaseDuration / 5).Ticks));
}

/// <summary>
/// Leader election on a coordination.k8s.io Lease, with client-go's semantics: every failed attempt
/// (refused connection, timeout, 5xx, 409) is retried, never fatal; a leader keeps leading through
/// API blips shorter than the renew deadline and steps down when it passes (the caller may run again:
/// a record that still names this instance is taken back on the first attempt that reaches the API
/// server); a stopping leader drains its work and releases the Lease so a standby takes over on its
/// next retry.
/// </summary>
[RbacRule("coordination.k8s.io", "leases", "get", "create", "update", Scope = RbacScope.LeaderElection)]
public sealed class LeaderElection(IKubernetes client, LeaderElectionOptions options, ILogger<LeaderElection> logger, TimeProvider? clock = null)
{
    private readonly TimeProvider time = clock ?? TimeProvider.System;
    private V1LeaseSpec? observed;
    private long observedAt;

    /// <summary>
    /// Waits for leadership, then runs <paramref name="lead"/>(stop, abort) while it lasts. On a
    /// graceful stop, stop is cancelled first and abort after <see cref="Controller.DrainTimeout"/>,
    /// and the Lease is renewed until the work has drained; on lost leadership both at once.
    /// </summary>
    /// <returns>Why leadership ended; the work has ended in every case.</returns>
    public async Task<LeadershipEnd> RunAsync(Func<CancellationToken, CancellationToken, Task> lead, CancellationToken stoppingToken)
    {
        logger.LogInformation("waiting to become leader of {Namespace}/{Lease} as {Identity}", options.Namespace, options.LeaseName, options.Identity);
        if (await AcquireAsync(stoppingToken).ConfigureAwait(false) is not { } acquiredAt) return LeadershipEnd.Stopped;

        logger.LogInformation("became leader ({Identity})", options.Identity);
        RuntimeMetrics.Leader.Set(1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var abort = new CancellationTokenSource();
        using var draining = stoppingToken.Register(() => abort.CancelAfter(Controller.DrainTimeout));
        var work = lead(stop.Token, abort.Token);
        // Renewed until the work has ended, the drain after a stop included: whatever it writes, it
        // writes as the holder of a valid Lease.
        var lost = await KeepRenewingAsync(work, acquiredAt).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        if (lost is not null) await abort.CancelAsync().ConfigureAwait(false);
        Exception? failure = null;
        try { await work.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        catch (Exception e) { failure = e; }
        RuntimeMetrics.Leader.Set(0);
        if (lost is { } end) return end;
        await ReleaseAsync().ConfigureAwait(false);
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
        if (!stoppingToken.IsCancellationRequested) throw new InvalidOperationException("the work stopped by itself while leading");
        return LeadershipEnd.Stopped;
    }

    /// <summary>Tries every retry period until this instance holds the Lease; null when stopping first.</summary>
    /// <returns>When the winning attempt started: the renew deadline counts from there, not from its answer.</returns>
    private async Task<long?> AcquireAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var attemptStart = time.GetTimestamp();
            var next = Jittered(options.RetryPeriod);
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                attempt.CancelAfter(options.RenewDeadline);
                if (await TryAcquireOrRenewAsync(attempt.Token).ConfigureAwait(false)) return attemptStart;
                failures = 0;
                next = LeaseClaim.NextAttemptIn(observed, options.Identity, options.LeaseDuration, time.GetElapsedTime(observedAt), next);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Logged on the first failure and every 30th after: an outage is not a log flood.
                if (failures++ % 30 == 0) logger.LogWarning("leader election: cannot reach the Lease ({Failures} in a row), retrying: {Error}", failures, ApiErrors.Describe(e));
            }
            await DelayAsync(next, stoppingToken).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>Renews until the work ends (null) or leadership is lost (why).</summary>
    private async Task<LeadershipEnd?> KeepRenewingAsync(Task work, long lastRenewal)
    {
        while (true)
        {
            await Task.WhenAny(work, Task.Delay(options.RenewInterval, time)).ConfigureAwait(false);
            if (work.IsCompleted) return null;
            while (true)
            {
                var attemptStart = time.GetTimestamp();
                var remaining = options.RenewDeadline - time.GetElapsedTime(lastRenewal);
                if (remaining <= TimeSpan.Zero)
                {
                    // Not critical: the process stays and takes its own Lease back once the API server answers,
                    // unless another instance took it meanwhile.
                    logger.LogWarning("leader election: no renewal of {Namespace}/{Lease} succeeded within the renew deadline ({Deadline}s); stepping down until it can renew",
                        options.Namespace, options.LeaseName, options.RenewDeadline.TotalSeconds);
                    return LeadershipEnd.RenewalsFailed;
                }
                try
                {
                    // One attempt may not eat the whole deadline: a request stuck on a dead connection is
                    // abandoned so the next, on a fresh one, still fits before the deadline.
                    using var attempt = new CancellationTokenSource(Min(remaining, options.RenewDeadline / 4));
                    if (await TryAcquireOrRenewAsync(attempt.Token).ConfigureAwait(false))
                    {
                        lastRenewal = attemptStart;
                        break;
                    }
                    logger.LogCritical("leader election: {Holder} holds {Namespace}/{Lease} now; stepping down", observed?.HolderIdentity, options.Namespace, options.LeaseName);
                    return LeadershipEnd.TakenByAnother;
                }
                catch (Exception e)
                {
                    logger.LogWarning("leader election: renewal failed, retrying within the renew deadline: {Error}", ApiErrors.Describe(e));
                }
                await Task.WhenAny(work, Task.Delay(options.RetryPeriod, time)).ConfigureAwait(false);
                if (work.IsCompleted) return null;
            }
        }
    }

    /// <summary>One read and, unless another holder is valid, one optimistic write. A 409 means someone
    /// wrote between the two: it throws, to be retried like any failed attempt.</summary>
    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var lease = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            var spec = LeaseClaim.Next(new V1LeaseSpec(), options.Identity, options.LeaseDuration, TimeSpan.Zero, now)!;
            var created = await client.CoordinationV1.CreateNamespacedLeaseAsync(
                new V1Lease { Metadata = new V1ObjectMeta { Name = options.LeaseName, NamespaceProperty = options.Namespace }, Spec = spec },
                options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            Observe(created.Spec);
            return true;
        }
        Observe(lease.Spec ??= new V1LeaseSpec());
        var next = LeaseClaim.Next(lease.Spec, options.Identity, options.LeaseDuration, time.GetElapsedTime(observedAt), now);
        if (next is null) return false;
        lease.Spec = next;
        var written = await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, options.LeaseName, options.Namespace,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        Observe(written.Spec);
        return true;
    }

    private async Task<V1Lease?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoordinationV1.ReadNamespacedLeaseAsync(options.LeaseName, options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Notes when the record last changed, as seen from here: expiry counts from that.</summary>
    private void Observe(V1LeaseSpec spec)
    {
        if (LeaseClaim.SameRecord(observed, spec)) return;
        if (observed?.HolderIdentity != spec.HolderIdentity)
        {
            logger.LogInformation("leader is now {Leader}", string.IsNullOrEmpty(spec.HolderIdentity) ? "<none>" : spec.HolderIdentity);
        }
        observed = spec;
        observedAt = time.GetTimestamp();
    }

    /// <summary>An empty holder lets the others take over on their next retry instead of after a whole lease.</summary>
    private async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var lease = await ReadAsync(timeout.Token).ConfigureAwait(false);
            if (lease?.Spec?.HolderIdentity != options.Identity) return;
            lease.Spec = LeaseClaim.Released(lease.Spec, time.GetUtcNow().UtcDateTime);
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, options.LeaseName, options.Namespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            logger.LogInformation("released leadership");
        }
        catch (Exception e)
        {
            logger.LogWarning("could not release leadership: {Error}", ApiErrors.Describe(e));
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Jittered(TimeSpan period) => period * (1 + 0.2 * Random.Shared.NextDouble());

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try { await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }
}
