using FailoverAgent.Fencing;

namespace FailoverAgent.Tests;

/// <summary>Demotion on what the Lease says, stale readings, and the stop path, on a fake clock.</summary>
public class FencingMachineDemotionTests : FencingMachineTestBase
{
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
    public void A_restarted_agent_never_acts_in_a_term_its_pod_already_acknowledged()
    {
        machine.RememberAcknowledged(3);

        Assert.Empty(machine.OnLeaseObserved(Lease(Me, 3), S(0)));
        Assert.IsType<RenewLease>(Assert.Single(machine.OnLeaseObserved(Lease(Me, 4, "2"), S(1))));
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
    public void Stop_after_the_deadline_passed_demotes_for_the_deadline()
    {
        BecomeActive();

        Assert.Equal(new Demote(3, RoleReasons.DeadlinePassed, S(12)), machine.OnStop(S(30))[0]);
    }
}
