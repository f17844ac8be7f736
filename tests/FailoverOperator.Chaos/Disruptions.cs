namespace FailoverOperator.Chaos;

/// <summary>
/// When the operator could not have acted: a leader kill (until a standby takes over: up to the leader lease
/// + 2 s) and an API outage (until it is back, then up to a lease for a new leader). The oracle gives the
/// operator its correction time counted from the end of such a disruption, not from the write.
/// </summary>
public sealed record Disruptions(IReadOnlyList<DateTime> Kills, IReadOnlyList<ApiOutage> Outages, TimeSpan LeaderlessBound)
{
    public static readonly Disruptions None = new([], [], TimeSpan.Zero);

    /// <summary>The latest time by which a state created at <paramref name="at"/> must be undone, given <paramref name="bound"/> undisturbed.</summary>
    public DateTime Deadline(DateTime at, TimeSpan bound)
    {
        var deadline = at + bound;
        foreach (var kill in Kills.Where(k => k >= at - LeaderlessBound && k <= at + bound))
        {
            deadline = Max(deadline, kill + LeaderlessBound + bound);
        }
        foreach (var outage in Outages.Where(o => o.Start <= at + bound && o.End >= at - LeaderlessBound))
        {
            deadline = Max(deadline, outage.End + LeaderlessBound + bound);
        }
        return deadline;
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;
}
