using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>One attempt of the leader election: take, keep, or leave the Lease.</summary>
public class LeaseClaimTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(15);

    private static V1LeaseSpec Held(string? holder, int transitions = 3) => new()
    {
        HolderIdentity = holder, LeaseDurationSeconds = 15, AcquireTime = T0.AddMinutes(-5), RenewTime = T0.AddSeconds(-1), LeaseTransitions = transitions,
    };

    [Fact]
    public void AnotherHoldersLeaseIsLeftAloneUntilItStayedUnchangedForItsDuration()
    {
        Assert.Null(LeaseClaim.Next(Held("other"), "me", Duration, TimeSpan.FromSeconds(14.9), T0));
        var taken = LeaseClaim.Next(Held("other"), "me", Duration, TimeSpan.FromSeconds(15), T0)!;
        Assert.Equal(("me", T0, T0, 4), (taken.HolderIdentity, taken.AcquireTime, taken.RenewTime, taken.LeaseTransitions));
    }

    [Fact]
    public void TheHoldersOwnLeaseDurationDecidesNotOurs()
    {
        var shortLease = Held("other");
        shortLease.LeaseDurationSeconds = 2;
        Assert.NotNull(LeaseClaim.Next(shortLease, "me", Duration, TimeSpan.FromSeconds(2), T0));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void AReleasedLeaseIsTakenAtOnce(string? holder) =>
        Assert.Equal("me", LeaseClaim.Next(Held(holder), "me", Duration, TimeSpan.Zero, T0)!.HolderIdentity);

    [Fact]
    public void ARenewalKeepsTheAcquireTimeAndTransitions()
    {
        var renewed = LeaseClaim.Next(Held("me"), "me", Duration, TimeSpan.Zero, T0)!;
        Assert.Equal((T0.AddMinutes(-5), T0, 3, 15), (renewed.AcquireTime, renewed.RenewTime, renewed.LeaseTransitions, renewed.LeaseDurationSeconds));
    }

    [Fact]
    public void ReleasingEmptiesTheHolderAndKeepsTheCount()
    {
        var released = LeaseClaim.Released(Held("me"), T0);
        Assert.Equal(("", 1, 3), (released.HolderIdentity, released.LeaseDurationSeconds, released.LeaseTransitions));
    }

    [Fact]
    public void ARenewalIsAChangeOfRecordARereadIsNot()
    {
        Assert.True(LeaseClaim.SameRecord(Held("a"), Held("a")));
        var renewed = Held("a");
        renewed.RenewTime = T0;
        Assert.False(LeaseClaim.SameRecord(Held("a"), renewed));
        Assert.False(LeaseClaim.SameRecord(null, Held("a")));
    }

    [Fact]
    public void AStandbyLooksAgainJustAfterTheHoldersLeaseRunsOutWhenThatComesBeforeItsRetry()
    {
        var retry = TimeSpan.FromSeconds(1);
        Assert.Equal(TimeSpan.FromMilliseconds(410), LeaseClaim.NextAttemptIn(Held("other"), "me", Duration, TimeSpan.FromSeconds(14.6), retry));
        Assert.Equal(retry, LeaseClaim.NextAttemptIn(Held("other"), "me", Duration, TimeSpan.FromSeconds(10), retry));
        Assert.Equal(retry, LeaseClaim.NextAttemptIn(Held("other"), "me", Duration, TimeSpan.FromSeconds(15.5), retry));
    }

    [Theory]
    [InlineData("me")]
    [InlineData("")]
    [InlineData(null)]
    public void NoExpiryToWaitForOnAReleasedOrOwnLeaseOrAFailedRead(string? holder)
    {
        var retry = TimeSpan.FromSeconds(1);
        Assert.Equal(retry, LeaseClaim.NextAttemptIn(Held(holder), "me", Duration, TimeSpan.FromSeconds(14.6), retry));
        Assert.Equal(retry, LeaseClaim.NextAttemptIn(null, "me", Duration, TimeSpan.FromSeconds(14.6), retry));
    }
}
