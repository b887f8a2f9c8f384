from .contracts import Contract, ContractLine, ContractVersion

__all__ = ["Contract", "ContractLine", "ContractVersion"]
