// Every attribute codec, for code that handles many of them.
#pragma once

#include "protocol/attributes/address.hpp"
#include "protocol/attributes/discovery.hpp"
#include "protocol/attributes/error.hpp"
#include "protocol/attributes/integrity.hpp"
#include "protocol/attributes/numeric.hpp"
#include "protocol/attributes/text.hpp"
