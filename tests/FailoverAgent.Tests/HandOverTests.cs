using System.Text.Json;
using FailoverAgent.Fencing;
using FailoverAgent.Kube;
using k8s.Models;

namespace FailoverAgent.Tests;

/// <summary>
/// The hand-over: the demoted agent writes the operator's write 1 to the pod it chose, in the next term
/// (docs/fencing.md). Only the very pod write 1 fences, only for the term it gave up, only to another pod.
/// </summary>
public class HandOverTests : FencingMachineTestBase
{
    private const string MyUid = "uid-a";

    private static LeaseSnapshot WriteOne(long term = 3, string? to = "pod-b", string? uid = MyUid, string rv = "5") =>
        Lease(null, term, rv, fencingReason: "NotReady") with { FencedPod = Me, FencedTerm = term, FencedUid = uid, FencedTo = to };

    [Fact]
    public void Fenced_by_write_one_the_active_demotes_then_hands_the_lease_to_the_chosen_pod()
    {
        machine.SelfUid = MyUid;
        BecomeActive();
        var writeOne = WriteOne();

        Assert.Equal<FencingAction>([new Demote(3, "NotReady", S(12)), new Acknowledge(3, writeOne)], machine.OnLeaseObserved(writeOne, S(1)));
    }

    public static TheoryData<string, LeaseSnapshot, string?> NoHandOver => new()
    {
        { "no pod chosen", WriteOne(to: null), MyUid },
        { "the chosen pod is this one", WriteOne(to: Me), MyUid },
        { "another incarnation of this pod's name", WriteOne(uid: "uid-old"), MyUid },
        { "a record without a UID", WriteOne(uid: null), MyUid },
        { "own UID unknown", WriteOne(), null },
        { "another term's record", WriteOne() with { FencedTerm = 2 }, MyUid },
    };

    [Theory]
    [MemberData(nameof(NoHandOver))]
    public void Otherwise_the_acknowledgement_is_the_pod_annotation_alone(string why, LeaseSnapshot writeOne, string? selfUid)
    {
        machine.SelfUid = selfUid;
        BecomeActive();

        Assert.True(new Acknowledge(3) == machine.OnLeaseObserved(writeOne, S(1)).OfType<Acknowledge>().Single(), why);
    }

    [Fact]
    public void Fenced_in_a_term_it_never_acted_in_it_hands_over_at_once()
    {
        machine.SelfUid = MyUid;
        machine.OnLeaseObserved(Lease(Me, 3), S(0));   // named; its confirmation is under way
        var writeOne = WriteOne();

        Assert.Equal(new Acknowledge(3, writeOne), Assert.Single(machine.OnLeaseObserved(writeOne, S(0.5))));
    }

    /// <summary>Write 1 as the operator writes it (its JSON, its other annotations), read by the agent.</summary>
    private static V1Lease OperatorsWriteOne() => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "db", NamespaceProperty = "shop", ResourceVersion = "41",
            Labels = new Dictionary<string, string> { ["failover.dev/group"] = "db" },
            OwnerReferences = [new V1OwnerReference { ApiVersion = "failover.dev/v1alpha1", Kind = "HighAvailabilityGroup", Name = "db", Uid = "g-uid" }],
            Annotations = new Dictionary<string, string>
            {
                ["failover.dev/fencing"] = """{"from":"db-0","term":3,"reason":"NotReady","to":"db-1","uid":"uid-a","durationSeconds":15,"detectedAt":"2026-12-02T10:00:00.123456Z","since":"2026-12-02T10:00:00.140000Z"}""",
                ["failover.dev/failover"] = """{"from":"db-1","to":"db-0","reason":"Switchover","term":3}""",
                ["someone/else"] = "kept",
            },
        },
        Spec = new V1LeaseSpec { HolderIdentity = "", LeaseDurationSeconds = 15, LeaseTransitions = 3, RenewTime = new DateTime(2026, 12, 2, 10, 0, 0, DateTimeKind.Utc) },
    };

    [Fact]
    public void The_handed_over_lease_names_the_chosen_pod_in_the_next_term_with_the_failover_record_and_no_fencing_record()
    {
        var now = new DateTime(2026, 12, 2, 10, 0, 0, 200, DateTimeKind.Utc);
        var lease = LeaseReading.HandedOver(OperatorsWriteOne(), now)!;

        Assert.Equal(("db-1", 4, now, now, 15), (lease.Spec.HolderIdentity, lease.Spec.LeaseTransitions, lease.Spec.AcquireTime, lease.Spec.RenewTime,
            lease.Spec.LeaseDurationSeconds));
        Assert.Equal("41", lease.Metadata.ResourceVersion);   // optimistic against write 1: any later write refuses it
        Assert.False(lease.Metadata.Annotations.ContainsKey("failover.dev/fencing"));
        Assert.Equal("kept", lease.Metadata.Annotations["someone/else"]);
        Assert.Equal(("db", "g-uid"), (lease.Metadata.Labels["failover.dev/group"], lease.Metadata.OwnerReferences.Single().Uid));
        using var record = JsonDocument.Parse(lease.Metadata.Annotations["failover.dev/failover"]);
        var r = record.RootElement;
        Assert.Equal(("db-0", "db-1", "NotReady", "2026-12-02T10:00:00.123456Z", 4, "HandedOver"),
            (r.GetProperty("from").GetString(), r.GetProperty("to").GetString(), r.GetProperty("reason").GetString(), r.GetProperty("detectedAt").GetString(),
             r.GetProperty("term").GetInt32(), r.GetProperty("proof").GetString()));
    }

    [Fact]
    public void A_lease_that_fences_no_one_or_names_no_choice_or_has_a_holder_is_not_handed_over()
    {
        var noChoice = OperatorsWriteOne();
        noChoice.Metadata.Annotations["failover.dev/fencing"] = """{"from":"db-0","term":3,"reason":"Stopped"}""";
        var held = OperatorsWriteOne();
        held.Spec.HolderIdentity = "db-2";
        var unfenced = OperatorsWriteOne();
        unfenced.Metadata.Annotations.Remove("failover.dev/fencing");

        Assert.All(new[] { noChoice, held, unfenced }, lease => Assert.Null(LeaseReading.HandedOver(lease, DateTime.UtcNow)));
    }
}
