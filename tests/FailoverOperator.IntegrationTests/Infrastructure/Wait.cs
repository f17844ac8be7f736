using System.Diagnostics;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>Waits on a condition with a deadline (never a blind sleep).</summary>
public static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Task<string>>? describe = null)
    {
        var watch = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                last = e;
            }
            if (watch.Elapsed > timeout)
            {
                var state = describe is null ? "" : $"\nlast state: {await describe()}";
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}{state}{(last is null ? "" : $"\nlast error: {last.Message}")}");
            }
            await Task.Delay(25);
        }
    }
}
