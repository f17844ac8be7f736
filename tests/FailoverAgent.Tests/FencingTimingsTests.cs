using FailoverAgent.Fencing;

namespace FailoverAgent.Tests;

public class FencingTimingsTests
{
    [Theory]
    [InlineData(15, 3)]      // d/5
    [InlineData(60, 12)]
    [InlineData(3, 1)]       // the 1 s floor
    [InlineData(1, 0.5)]     // never more than d/2, or the deadline would be the renewal itself
    public void The_margin_is_a_fifth_of_the_duration_at_least_a_second_at_most_half(double duration, double margin) =>
        Assert.Equal(TimeSpan.FromSeconds(margin), FencingTimings.Margin(TimeSpan.FromSeconds(duration)));

    [Fact]
    public void The_deadline_comes_a_margin_before_the_lease_would_expire_counted_from_the_renewals_start() =>
        Assert.Equal(TimeSpan.FromSeconds(112), FencingTimings.Deadline(TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(15)));

    [Fact]
    public void Renewals_every_third_retries_at_most_a_second_apart()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), FencingTimings.RenewInterval(TimeSpan.FromSeconds(15)));
        Assert.Equal(TimeSpan.FromSeconds(1), FencingTimings.RetryInterval(TimeSpan.FromSeconds(15)));
        Assert.Equal(TimeSpan.FromSeconds(1) / 3, FencingTimings.RetryInterval(TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData(15, 2, 2)]
    [InlineData(15, 10, 4.5)]   // 12 − 7.5
    [InlineData(3, 10, 0.5)]    // 2 − 1.5
    [InlineData(1, 10, 0)]      // 0.5 − 0.5
    public void The_demotion_lead_never_starts_a_demotion_before_half_the_duration(double duration, double wanted, double lead) =>
        Assert.Equal(TimeSpan.FromSeconds(lead), FencingTimings.DemotionLead(TimeSpan.FromSeconds(wanted), TimeSpan.FromSeconds(duration)));

    [Theory]
    [InlineData("Switchover", true)]
    [InlineData("NodeDrain", true)]
    [InlineData("Stopped", true)]
    [InlineData("Terminating", true)]
    [InlineData("NotReady", false)]
    [InlineData("RenewalDeadlinePassed", false)]
    public void Planned_means_someone_decided_it(string reason, bool planned) => Assert.Equal(planned, RoleReasons.IsPlanned(reason));
}
