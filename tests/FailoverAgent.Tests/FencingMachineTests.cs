using FailoverAgent.Fencing;

namespace FailoverAgent.Tests;

/// <summary>Promotion, renewal and the deadline, on a fake clock.</summary>
public class FencingMachineTests : FencingMachineTestBase
{
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
    public void Fenced_in_a_term_it_never_acted_in_it_acknowledges_at_once_and_a_late_confirmation_does_not_promote()
    {
        machine.OnLeaseObserved(Lease(Me, 3), S(0));   // named; its confirmation is under way

        var fenced = Lease(null, 3, "2", fencingReason: "NotReady") with { FencedPod = Me, FencedTerm = 3 };
        Assert.Equal(new Acknowledge(3), Assert.Single(machine.OnLeaseObserved(fenced, S(0.5))));

        Assert.Empty(machine.OnRenewalSucceeded(Lease(Me, 3, "3"), startedAt: S(0), now: S(0.6)));
        Assert.Equal(AgentRole.Standby, machine.Role);
        Assert.Empty(machine.OnLeaseObserved(fenced with { ResourceVersion = "4" }, S(1)));   // said once
    }

    [Fact]
    public void A_fencing_record_of_another_pod_or_of_a_term_it_already_gave_up_asks_nothing()
    {
        Assert.Empty(machine.OnLeaseObserved(Lease(null, 3, "2") with { FencedPod = "pod-b", FencedTerm = 3 }, S(0)));
        machine.RememberAcknowledged(4);
        Assert.Empty(machine.OnLeaseObserved(Lease(null, 4, "3") with { FencedPod = Me, FencedTerm = 4 }, S(1)));
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
}
