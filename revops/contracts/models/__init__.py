from .catalog import Product, RecognitionMethod
from .contracts import Contract, ContractLine, ContractVersion
from .customers import Customer, LegalEntity

__all__ = [
    "Contract",
    "ContractLine",
    "ContractVersion",
    "Customer",
    "LegalEntity",
    "Product",
    "RecognitionMethod",
]
