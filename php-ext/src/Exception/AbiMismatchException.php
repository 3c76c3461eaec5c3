<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * The loaded libtenantml reports a C ABI version other than the one this PHP
 * package was written for (TenantMl\Native::ABI_VERSION). Rebuild or upgrade
 * one side so both agree.
 */
class AbiMismatchException extends TenantMlException
{
}
