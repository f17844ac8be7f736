using FailoverAgent.Fencing;

namespace FailoverAgent.Tests;

/// <summary>The fencing rules, driven by a fake monotonic clock (plain TimeSpans): no I/O, no waiting.</summary>
public class FencingMachineTests
{
    private const string Me = "pod-a";
    private static readonly TimeSpan D = TimeSpan.FromSeconds(15);   // margin 3 s: deadline = start + 12 s; renew every 5 s
    private readonly FencingMachine machine = new(Me);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static LeaseSnapshot Lease(string? holder, long term, string rv = "1", string? failoverReason = null, string? fencingReason = null) =>
        new(holder, term, D, rv, failoverReason, failoverReason is null ? null : term, fencingReason);

    /// <summary>Named in term 3 at t=0, confirmed by a renewal that started at t=0 and answered at t=0.1.</summary>
    private void BecomeActive(long term = 3, string? reason = null)
    {
        var observed = Lease(Me, term, failoverReason: reason);
        Assert.IsType<RenewLease>(Assert.Single(machine.OnLeaseObserved(observed, S(0))));
        Assert.IsType<Promote>(Assert.Single(machine.OnRenewalSucceeded(observed with { ResourceVersion = "2" }, S(0), S(0.1))));
    }

    [Fact]
    public void Being_named_holder_is_not_enough_to_act_our_own_renewal_must_succeed_first()
    {
        var actions = machine.OnLeaseObserved(Lease(Me, 3), S(0));

        Assert.Equal(new RenewLease(Lease(Me, 3)), Assert.Single(actions));
        Assert.Equal(AgentRole.Standby, machine.Role);
        Assert.Empty(machine.OnTick(S(0.5)));   // the confirmation is under way: no second one
    }

    [Fact]
    public void A_successful_confirmation_promotes_in_that_term_with_the_failover_reason()
    {
        machine.OnLeaseObserved(Lease(Me, 3, failoverReason: "NotReady"), S(0));

        var actions = machine.OnRenewalSucceeded(Lease(Me, 3, "2", failoverReason: "NotReady"), S(0), S(0.2));

        Assert.Equal(new Promote(3, "NotReady"), Assert.Single(actions));
        Assert.Equal((AgentRole.Active, 3L), (machine.Role, machine.Term));
    }

    [Fact]
    public void A_refused_confirmation_does_not_promote_and_is_retried_after_the_retry_interval()
    {
        machine.OnLeaseObserved(Lease(Me, 3), S(0));

        Assert.Empty(machine.OnRenewalFailed(conflict: false, S(0.3)));
        Assert.Empty(machine.OnTick(S(1.2)));
        Assert.IsType<RenewLease>(Assert.Single(machine.OnTick(S(1.3))));
        Assert.Equal(AgentRole.Standby, machine.Role);
    }

    [Fact]
    public void A_confirmation_that_answers_after_its_own_deadline_does_not_promote()
    {
        machine.OnLeaseObserved(Lease(Me, 3), S(0));

        Assert.Empty(machine.OnRenewalSucceeded(Lease(Me, 3, "2"), startedAt: S(0), now: S(12)));
        Assert.Equal(AgentRole.Standby, machine.Role);
    }

    [Fact]
    public void The_deadline_counts_from_the_start_of_the_last_successful_renewal_minus_the_margin()
    {
        BecomeActive();
        Assert.IsType<RenewLease>(Assert.Single(machine.OnTick(S(5))));
        // Sent at 5 s, answered at 7 s: the deadline is 5 + 15 − 3 = 17 s, not 7 + 12.
        Assert.Empty(machine.OnRenewalSucceeded(Lease(Me, 3, "3"), S(5), S(7)));

        Assert.Equal(S(17), machine.Deadline);
        Assert.Equal(AgentRole.Active, machine.Role);
    }

    [Fact]
    public void Active_renews_every_third_of_the_lease_duration_and_not_sooner()
    {
        BecomeActive();

        Assert.Empty(machine.OnTick(S(4.99)));
        Assert.Equal(S(5), machine.NextWakeUp(S(4.5)));
        Assert.Equal(new RenewLease(Lease(Me, 3, "2")), Assert.Single(machine.OnTick(S(5))));
    }

    [Fact]
    public void Failed_renewals_are_retried_and_past_the_deadline_the_agent_demotes_then_acknowledges()
    {
        BecomeActive();
        var t = 5.0;
        while (t < 12)
        {
            Assert.IsType<RenewLease>(Assert.Single(machine.OnTick(S(t))));
            Assert.Empty(machine.OnRenewalFailed(conflict: false, S(t + 0.5)));
            t += 1.5;
        }
        Assert.Equal(AgentRole.Active, machine.Role);

        var actions = machine.OnTick(S(12));

        Assert.Equal<FencingAction>([new Demote(3, RoleReasons.DeadlinePassed, S(12)), new Acknowledge(3)], actions);
        Assert.Equal(AgentRole.Standby, machine.Role);
    }

    [Fact]
    public void The_agent_wakes_up_no_later_than_its_deadline()
    {
        BecomeActive();
        machine.OnTick(S(5));   // renewal sent, never answers

        Assert.Equal(S(12), machine.NextWakeUp(S(11.5)));
    }

    [Fact]
    public void A_renewal_that_succeeds_after_the_demotion_never_promotes_again_in_that_term()
    {
        BecomeActive();
        machine.OnTick(S(5));   // renewal under way (a cut connection)
        Assert.IsType<Demote>(machine.OnTick(S(12))[0]);

        Assert.Empty(machine.OnRenewalSucceeded(Lease(Me, 3, "9"), startedAt: S(5), now: S(13)));
        Assert.Empty(machine.OnLeaseObserved(Lease(Me, 3, "9"), S(14)));   // the API is back; the Lease still names us
        Assert.Empty(machine.OnTick(S(20)));
        Assert.Equal(AgentRole.Standby, machine.Role);
    }

    [Fact]
    public void Another_holder_demotes_at_once_with_the_operators_reason()
    {
        BecomeActive();

        var actions = machine.OnLeaseObserved(Lease("pod-b", 4, "7", failoverReason: "NotReady"), S(2));

        Assert.Equal<FencingAction>([new Demote(3, "NotReady", S(12)), new Acknowledge(3)], actions);
    }

    [Fact]
    public void An_empty_holder_in_our_term_is_the_operators_fencing_write_and_demotes()
    {
        BecomeActive();

        var actions = machine.OnLeaseObserved(Lease(null, 3, "7", fencingReason: "NotReady"), S(2));

        Assert.Equal<FencingAction>([new Demote(3, "NotReady", S(12)), new Acknowledge(3)], actions);
    }

    [Fact]
    public void A_conflict_asks_for_a_fresh_reading_which_then_decides()
    {
        BecomeActive();
        machine.OnTick(S(5));

        Assert.Equal(new RefreshLease(), Assert.Single(machine.OnRenewalFailed(conflict: true, S(5.1))));
        Assert.IsType<Demote>(machine.OnLeaseObserved(Lease(null, 3, "8"), S(5.2))[0]);
    }

    [Fact]
    public void A_reading_of_an_older_term_is_stale_and_ignored()
    {
        BecomeActive(term: 3);

        Assert.Empty(machine.OnLeaseObserved(Lease("pod-b", 2, "0"), S(1)));
        Assert.Equal(AgentRole.Active, machine.Role);
    }

    [Fact]
    public void A_stale_event_naming_us_in_a_term_we_gave_up_cannot_promote()
    {
        BecomeActive(term: 3);
        machine.OnLeaseObserved(Lease("pod-b", 4, "7"), S(1));

        Assert.Empty(machine.OnLeaseObserved(Lease(Me, 3, "2"), S(2)));
        Assert.Empty(machine.OnTick(S(3)));
        Assert.Equal((AgentRole.Standby, 3L), (machine.Role, machine.Term));
    }

    [Fact]
    public void Named_again_in_a_newer_term_the_agent_gives_up_the_old_term_before_confirming_the_new()
    {
        BecomeActive(term: 3);

        var actions = machine.OnLeaseObserved(Lease(Me, 5, "9"), S(1));

        Assert.Equal<FencingAction>([new Demote(3, RoleReasons.TermChanged, S(12)), new Acknowledge(3), new RenewLease(Lease(Me, 5, "9"))], actions);
        Assert.Equal(new Promote(5, "Assigned"), Assert.Single(machine.OnRenewalSucceeded(Lease(Me, 5, "10"), S(1), S(1.1))));
    }

    [Fact]
    public void A_deleted_lease_demotes()
    {
        BecomeActive();

        Assert.Equal<FencingAction>([new Demote(3, RoleReasons.LeaseDeleted, S(12)), new Acknowledge(3)], machine.OnLeaseDeleted(S(1)));
    }

    [Fact]
    public void Stop_while_active_demotes_acknowledges_and_releases_in_that_order()
    {
        BecomeActive();

        var actions = machine.OnStop(S(1));

        Assert.Equal<FencingAction>([new Demote(3, RoleReasons.Stopped, S(12)), new Acknowledge(3), new ReleaseLease(Lease(Me, 3, "2"))], actions);
        Assert.Empty(machine.OnTick(S(6)));                                       // no renewal after the stop
        Assert.Empty(machine.OnLeaseObserved(Lease(Me, 7, "20"), S(7)));          // and no promotion
        Assert.Empty(machine.OnStop(S(8)));
    }

    [Fact]
    public void Stop_while_named_but_not_yet_acting_acknowledges_that_term_and_releases()
    {
        machine.OnLeaseObserved(Lease(Me, 3), S(0));

        Assert.Equal<FencingAction>([new Acknowledge(3), new ReleaseLease(Lease(Me, 3))], machine.OnStop(S(0.1)));
    }

    [Fact]
    public void Stop_of_a_standby_not_named_does_nothing()
    {
        machine.OnLeaseObserved(Lease("pod-b", 3), S(0));

        Assert.Empty(machine.OnStop(S(1)));
    }

    [Fact]
    public void Every_demotion_carries_the_deadline_of_the_term_given_up_as_the_time_to_have_stopped_by()
    {
        BecomeActive();
        machine.OnTick(S(5));
        machine.OnRenewalSucceeded(Lease(Me, 3, "3"), S(5), S(5.2));

        Assert.Equal(new Demote(3, RoleReasons.Stopped, S(17)), machine.OnStop(S(6))[0]);
    }

    [Fact]
    public void With_a_demotion_lead_a_graceful_stop_begins_that_much_before_the_deadline_never_before_half_the_duration()
    {
        var wrapper = new FencingMachine(Me, demotionLead: S(2));
        wrapper.OnLeaseObserved(Lease(Me, 3), S(0));
        wrapper.OnRenewalSucceeded(Lease(Me, 3, "2"), S(0), S(0.1));
        wrapper.OnTick(S(5));   // the renewal never answers

        Assert.Equal(S(10), wrapper.NextWakeUp(S(9.5)));
        Assert.Empty(wrapper.OnTick(S(9.99)));
        Assert.Equal(new Demote(3, RoleReasons.DeadlinePassed, S(12)), wrapper.OnTick(S(10))[0]);

        var longGrace = new FencingMachine(Me, demotionLead: S(60));
        longGrace.OnLeaseObserved(Lease(Me, 3), S(0));
        longGrace.OnRenewalSucceeded(Lease(Me, 3, "2"), S(0), S(0.1));
        Assert.Equal(S(7.5), longGrace.DemotionStart);   // d/2
    }

    [Fact]
    public void Stop_after_the_deadline_passed_demotes_for_the_deadline()
    {
        BecomeActive();

        Assert.Equal(new Demote(3, RoleReasons.DeadlinePassed, S(12)), machine.OnStop(S(30))[0]);
    }
}
