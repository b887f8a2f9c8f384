from .catalog import Charge, Coupon, Meter, Plan, PlanVersion

__all__ = ["Charge", "Coupon", "Meter", "Plan", "PlanVersion"]
