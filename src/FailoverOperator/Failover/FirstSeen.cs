using System.Collections.Concurrent;

namespace FailoverOperator.Failover;

/// <summary>
/// When this process first saw each key's current record, on its own clock (client-go's observedTime):
/// every expiry the operator judges counts from such a sighting, never from a timestamp another
/// machine wrote. A record seen again unchanged (a resync, a second delivery) keeps its first sighting.
/// </summary>
public sealed class FirstSeen<TRecord>(TimeProvider time) where TRecord : IEquatable<TRecord>
{
    private readonly ConcurrentDictionary<string, (TRecord Record, DateTimeOffset At)> entries = new();

    /// <summary>Notes the key's record as seen now; returns the sighting it replaced (null when the key is new or the record unchanged).</summary>
    public (TRecord Record, DateTimeOffset At)? Saw(string key, TRecord record)
    {
        var now = time.GetUtcNow();
        (TRecord, DateTimeOffset)? replaced = null;
        entries.AddOrUpdate(key, _ => (record, now), (_, previous) =>
        {
            replaced = null;   // the update may run again under contention: only its last run counts
            if (previous.Record.Equals(record)) return previous;
            replaced = previous;
            return (record, now);
        });
        return replaced;
    }

    /// <summary>The key's latest record and when it was first seen (null: none).</summary>
    public (TRecord Record, DateTimeOffset At)? Latest(string key) => entries.TryGetValue(key, out var entry) ? entry : null;

    /// <summary>When this very record of the key was first seen (null: not the latest one seen, or none).</summary>
    public DateTimeOffset? Since(string key, TRecord record) =>
        entries.TryGetValue(key, out var entry) && entry.Record.Equals(record) ? entry.At : null;

    public void Forget(string key) => entries.TryRemove(key, out _);
}
