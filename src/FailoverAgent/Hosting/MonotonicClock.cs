using System.Diagnostics;

namespace FailoverAgent.Hosting;

/// <summary>Time since the agent started, from the monotonic clock: wall-clock jumps never move a deadline.</summary>
public static class MonotonicClock
{
    private static readonly long Start = Stopwatch.GetTimestamp();

    public static TimeSpan Now => Stopwatch.GetElapsedTime(Start);
}
