using System.Threading.Channels;

namespace FailoverOperator.Runtime;

/// <summary>
/// A de-duplicating work queue of keys (namespace/name). A key added many times before it is
/// processed is processed once; a key is never handed to two workers at once (an add during
/// processing is held until <see cref="Done"/>); failures back off per key; keys can be requeued
/// after a delay.
/// </summary>
public sealed class WorkQueue : IDisposable
{
    private readonly Channel<string> ready = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly HashSet<string> dirty = [];
    private readonly HashSet<string> processing = [];
    private readonly Dictionary<string, int> failures = [];
    private readonly Dictionary<string, (DateTimeOffset Due, ITimer Timer)> delayed = [];
    private readonly Lock gate = new();
    private readonly TimeProvider time;
    private readonly TimeSpan baseDelay;
    private readonly TimeSpan maxDelay;
    private bool shutDown;

    public WorkQueue(TimeProvider? time = null, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null)
    {
        this.time = time ?? TimeProvider.System;
        this.baseDelay = baseDelay ?? TimeSpan.FromMilliseconds(5);
        this.maxDelay = maxDelay ?? TimeSpan.FromSeconds(60);
    }

    /// <summary>Keys waiting to be processed (not counting those being processed or delayed): exactly those in the channel.</summary>
    public int Depth => ready.Reader.Count;

    public void Add(string key)
    {
        lock (gate)
        {
            if (shutDown || !dirty.Add(key)) return;
            if (processing.Contains(key)) return;
            ready.Writer.TryWrite(key);
        }
    }

    public void AddAfter(string key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }
        lock (gate)
        {
            if (shutDown) return;
            var due = time.GetUtcNow() + delay;
            if (delayed.TryGetValue(key, out var existing))
            {
                if (existing.Due <= due) return; // an earlier wake-up is already scheduled
                existing.Timer.Dispose();
            }
            var timer = time.CreateTimer(_ => Fire(key), null, delay, Timeout.InfiniteTimeSpan);
            delayed[key] = (due, timer);
        }
    }

    private void Fire(string key)
    {
        lock (gate)
        {
            if (delayed.Remove(key, out var entry)) entry.Timer.Dispose();
        }
        Add(key);
    }

    /// <summary>Requeues a failed key after an exponential per-key backoff.</summary>
    public void AddRateLimited(string key)
    {
        int count;
        lock (gate)
        {
            failures.TryGetValue(key, out count);
            failures[key] = ++count;
        }
        AddAfter(key, BackoffFor(count));
    }

    public TimeSpan BackoffFor(int failureCount)
    {
        var ms = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failureCount - 1, 30));
        return TimeSpan.FromMilliseconds(Math.Min(ms, maxDelay.TotalMilliseconds));
    }

    public int Failures(string key) { lock (gate) { return failures.GetValueOrDefault(key); } }

    /// <summary>Clears a key's failure history after it was processed successfully.</summary>
    public void Forget(string key) { lock (gate) { failures.Remove(key); } }

    /// <summary>Waits for the next key; null once the queue is shut down.</summary>
    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            string key;
            try
            {
                key = await ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
            lock (gate)
            {
                if (!dirty.Remove(key)) continue;
                processing.Add(key);
                return key;
            }
        }
    }

    /// <summary>Marks a key processed; if it was added meanwhile it becomes ready again.</summary>
    public void Done(string key)
    {
        lock (gate)
        {
            processing.Remove(key);
            if (dirty.Contains(key) && !shutDown) ready.Writer.TryWrite(key);
        }
    }

    public void ShutDown()
    {
        lock (gate)
        {
            shutDown = true;
            foreach (var (_, entry) in delayed) entry.Timer.Dispose();
            delayed.Clear();
            ready.Writer.TryComplete();
        }
    }

    public void Dispose() => ShutDown();
}
