"""The demo's feeds: which real NAB series drives which indicator, in which domain.

Every series measures a machine, a road or a service, never a person: the NAB series of tweet
volumes and of a person's key strokes are left out on purpose (the boundary: hazards, not
people). Where each series comes from is recorded in `data/README.md`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Feed:
    """One NAB series feeding one demo indicator."""

    file: str
    code: str
    name: str
    domain: str
    unit: str
    lower_is_worse: bool = False
    asset: str | None = None


FEEDS: tuple[Feed, ...] = (
    Feed(
        "realKnownCause/machine_temperature_system_failure.csv",
        "plant.compressor_temp",
        "Chemical plant compressor temperature",
        "production.chemicals",
        "°F",
        asset="PLANT-1",
    ),
    Feed(
        "realKnownCause/ambient_temperature_system_failure.csv",
        "dc.ambient_temp",
        "Data centre ambient temperature",
        "infrastructure.it",
        "°F",
        asset="DC-1",
    ),
    Feed(
        "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
        "egov.cpu",
        "E-government cluster CPU",
        "infrastructure.it",
        "%",
    ),
    Feed(
        "realKnownCause/ec2_request_latency_system_failure.csv",
        "egov.latency",
        "E-government portal latency",
        "infrastructure.it",
        "ms",
    ),
    Feed(
        "realKnownCause/nyc_taxi.csv",
        "metro.taxi_trips",
        "Metropolitan taxi trips",
        "transport.road",
        "trips/30 min",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/speed_6005.csv",
        "ring.speed_6005",
        "Ring road speed (sensor 6005)",
        "transport.road",
        "km/h",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/speed_7578.csv",
        "ring.speed_7578",
        "Ring road speed (sensor 7578)",
        "transport.road",
        "km/h",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/speed_t4013.csv",
        "bypass.speed_t4013",
        "Bypass speed (sensor t4013)",
        "transport.road",
        "km/h",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/occupancy_6005.csv",
        "ring.occupancy_6005",
        "Ring road occupancy (6005)",
        "transport.road",
        "%",
    ),
    Feed(
        "realTraffic/occupancy_t4013.csv",
        "bypass.occupancy_t4013",
        "Bypass occupancy (t4013)",
        "transport.road",
        "%",
    ),
    Feed(
        "realTraffic/TravelTime_387.csv",
        "corridor.travel_387",
        "Corridor travel time (387)",
        "transport.road",
        "s",
    ),
    Feed(
        "realTraffic/TravelTime_451.csv",
        "corridor.travel_451",
        "Corridor travel time (451)",
        "transport.road",
        "s",
    ),
    Feed(
        "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
        "hospital.db_cpu",
        "Hospital records database CPU",
        "health",
        "%",
        asset="HOSP-1",
    ),
    Feed(
        "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
        "water.scada_db_cpu",
        "Water works SCADA database CPU",
        "supply.water",
        "%",
        asset="WATER-1",
    ),
    Feed(
        "realAWSCloudwatch/ec2_network_in_257a54.csv",
        "grid.scada_net_in",
        "Grid SCADA network intake",
        "cyber",
        "bytes",
        asset="SUB-1",
    ),
    Feed(
        "realAWSCloudwatch/elb_request_count_8c0756.csv",
        "portal.requests",
        "Citizen portal request count",
        "cyber",
        "requests",
    ),
    Feed(
        "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
        "grid.ems_cpu_a",
        "Grid energy-management server A CPU",
        "infrastructure.power",
        "%",
        asset="SUB-1",
    ),
    Feed(
        "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv",
        "grid.ems_cpu_b",
        "Grid energy-management server B CPU",
        "infrastructure.power",
        "%",
        asset="SUB-1",
    ),
    Feed(
        "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv",
        "telecom.core_cpu",
        "Telecom core router CPU",
        "infrastructure.telecom",
        "%",
    ),
    Feed(
        "realAWSCloudwatch/grok_asg_anomaly.csv",
        "telecom.asg",
        "Telecom service group load",
        "infrastructure.telecom",
        "units",
    ),
)
