namespace FailoverAgent.Fencing;

/// <summary>
/// The time rules derived from the Lease's duration d:
/// renew at most every d/3; deadline = start of the last successful renewal + d − margin.
/// </summary>
public static class FencingTimings
{
    private static readonly TimeSpan MinimumMargin = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaximumRetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// max(1 s, d/5), never more than d/2. The operator's proof (c) counts d from its own write; our
    /// deadline comes a margin earlier on our clock, so it holds while the two clocks' rates differ
    /// by less than margin/d (20 %), and the 1 s floor also covers scheduling and GC pauses between
    /// our deadline check and the demotion.
    /// </summary>
    public static TimeSpan Margin(TimeSpan duration)
    {
        var margin = duration / 5 > MinimumMargin ? duration / 5 : MinimumMargin;
        return margin > duration / 2 ? duration / 2 : margin;
    }

    public static TimeSpan RenewInterval(TimeSpan duration) => duration / 3;

    /// <summary>After a failed renewal: try again soon (the deadline is near), but not in a tight loop.</summary>
    public static TimeSpan RetryInterval(TimeSpan duration) =>
        RenewInterval(duration) < MaximumRetryInterval ? RenewInterval(duration) : MaximumRetryInterval;

    /// <summary>How long one renewal request may take: a renewal stuck longer is no use before the deadline.</summary>
    public static TimeSpan RequestTimeout(TimeSpan duration) => RenewInterval(duration);

    public static TimeSpan Deadline(TimeSpan renewalStart, TimeSpan duration) => renewalStart + duration - Margin(duration);

    /// <summary>
    /// How much earlier than the deadline a demotion for lack of renewal begins, so a graceful stop
    /// (run mode: --grace) ends by the deadline: the wanted lead, but never so much that the
    /// demotion would begin before half the duration has passed since the renewal's start (the
    /// renewal due at d/3 keeps at least d/6 to succeed). 15 s lease: at most 4.5 s.
    /// </summary>
    public static TimeSpan DemotionLead(TimeSpan wanted, TimeSpan duration)
    {
        var room = duration - Margin(duration) - duration / 2;
        var cap = room > TimeSpan.Zero ? room : TimeSpan.Zero;
        return wanted < cap ? wanted : cap;
    }
}
